"""The FastAPI app factory every HTTP function uses: error envelope, request ids, CORS, resources."""

import hmac
import re
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import Database
from shared.errors import AppError
from shared.observability import logger, metrics
from shared.services.widget_cache import WidgetCache
from shared.settings import Settings, get_settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}
EXPOSED_HEADERS = "Retry-After, ETag, X-Request-Id"
ORIGIN_VERIFY_HEADER = b"x-origin-verify"
MAX_BODY_BYTES = 64 * 1024


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorResponse(BaseModel):
    """The one error shape every endpoint answers with (documented in every OpenAPI operation)."""

    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        400: "Bad request",
        401: "Missing or invalid credentials",
        403: "Forbidden",
        404: "Not found",
        413: "Payload too large",
        422: "Invalid input",
        429: "Rate limited (see Retry-After)",
    }.items()
}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one error shape every endpoint answers with."""
    return {"error": {"code": code, "message": message, **extra}}


def create_app(*, title: str, routers: Sequence[APIRouter] = (), settings: Settings | None = None) -> FastAPI:
    """An app with the platform's error envelope, request ids and CORS, and lazily opened resources.

    Nothing here touches the network: the database connects on first use.
    """
    settings = settings or get_settings()
    app = FastAPI(title=title, docs_url=None, redoc_url=None, responses=ERROR_RESPONSES)
    assert settings.database_url is not None
    app.state.settings = settings
    app.state.db = Database(
        settings.database_url.get_secret_value(),
        statement_timeout_ms=settings.db_statement_timeout_ms,
        pool_size=settings.db_pool_size,
    )
    app.state.widget_cache = WidgetCache(ttl_seconds=settings.widget_cache_seconds)
    for router in routers:
        app.include_router(router)
    _install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(CorsMiddleware)
    if settings.origin_verify_secret is not None:
        app.add_middleware(OriginVerifyMiddleware, secret=settings.origin_verify_secret.get_secret_value())
    app.add_middleware(RequestContextMiddleware)
    return app


def lambda_handler(app: FastAPI) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point for an app: Mangum, with Lambda context in logs and metrics flushed."""
    from mangum import Mangum

    mangum = Mangum(app, lifespan="off")

    @metrics.log_metrics
    @logger.inject_lambda_context(clear_state=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return mangum(event, context)

    return handler


def allow_cors(request: Request, origin: str | None) -> None:
    """Let the browser read this response from `origin` (set by the route that checked the origin)."""
    if origin:
        request.state.cors_origin = origin


def client_ip(request: Request, header: str) -> str:
    """The visitor's address: from `header` when the platform sits behind a proxy that sets it
    (CloudFront's `CloudFront-Viewer-Address`, "ip:port"), else the connection's peer."""
    if header:
        value = request.headers.get(header, "").strip()
        if value:
            host, sep, port = value.rpartition(":")
            return host.strip("[]") if sep and port.isdigit() else value
    return request.client.host if request.client else "unknown"


def _install_error_handlers(app: FastAPI) -> None:
    async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        return JSONResponse(
            error_body(exc.code, exc.message, **exc.details), status_code=exc.status_code, headers=exc.headers
        )

    async def on_validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Only where and why: echoing the input back could reflect secrets into logs or pages.
        details = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "msg": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = details[0] if details else {"loc": [], "msg": "invalid request"}
        message = f"{'.'.join(first['loc'])}: {first['msg']}" if first["loc"] else str(first["msg"])
        return JSONResponse(error_body("validation_error", message, details=details), status_code=422)

    async def on_http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _STATUS_CODES.get(exc.status_code, "http_error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        return JSONResponse(error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    app.add_exception_handler(AppError, on_app_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)


class RequestContextMiddleware:
    """Gives every request an id (X-Request-Id, echoed back and in every log line), logs one access
    line, and turns any unhandled exception into a logged 500 with the error envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        logger.set_correlation_id(request_id)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error", extra={"path": scope.get("path")})
            if response_started:
                raise
            response = JSONResponse(
                error_body("internal_error", "Something went wrong on our side. Please try again."),
                status_code=500,
                headers={"X-Request-Id": request_id},
            )
            await response(scope, receive, send)
        finally:
            logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )


class CorsMiddleware:
    """Adds CORS headers for the origin a route allowed (see `allow_cors`); nothing otherwise.

    Routes decide, because the allowed origins are per widget; errors raised after the decision
    still carry the headers, so the widget can read a 413 or a 429 and its Retry-After.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_cors(message: Message) -> None:
            origin = state.get("cors_origin")
            if message["type"] == "http.response.start" and origin:
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)


class OriginVerifyMiddleware:
    """Refuses (403) requests that did not come through the platform's CloudFront distribution,
    which adds `X-Origin-Verify: <secret>` to every request it forwards. Without it a direct call to
    a function URL could choose its own `x-viewer-address` and so its per-address rate limit."""

    def __init__(self, app: ASGIApp, *, secret: str) -> None:
        self.app = app
        self.secret = secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = next((v for k, v in scope.get("headers", []) if k == ORIGIN_VERIFY_HEADER), b"")
            if not hmac.compare_digest(given, self.secret):
                response = JSONResponse(
                    error_body("direct_access", "Use the platform's public address for this API."),
                    status_code=403,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413 before anything parses them, whether the
    size is declared (Content-Length) or only seen while reading (chunked)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            error_body("payload_too_large", f"Request bodies are limited to {self.max_bytes // 1024} KB."),
            status_code=413,
        )
        await response(scope, receive, send)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
    context = scope.get("aws.context")
    aws_request_id: object = getattr(context, "aws_request_id", None)
    return str(aws_request_id) if aws_request_id else uuid.uuid4().hex
