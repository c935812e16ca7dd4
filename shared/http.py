"""The FastAPI app factory every HTTP function uses: error envelope, request ids, CORS, resources."""

import hmac
import ipaddress
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import AppError, code_for_status
from shared.observability import logger, metrics
from shared.settings import Settings, get_settings

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
EXPOSED_HEADERS = "Retry-After, ETag, X-Request-Id"
ORIGIN_VERIFY_HEADER = b"x-origin-verify"
MAX_BODY_BYTES = 64 * 1024
# The public widget routes, whose widget decides which origins may read their responses.
WIDGET_PATH = re.compile(r"^/v1/widgets/([^/]+)(?:/|$)")
# Proxy headers whose value is always "ip:port" (CloudFront's own), so that a value which also reads
# as a longer bare IPv6 address ("2001:db8::1:443") is still split at its port.
PORT_SUFFIXED_HEADERS = frozenset({"cloudfront-viewer-address"})
IPV6_NETWORK_PREFIX = 64


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


# Whether a page at an origin may read an error about the widget whose id the path names.
WidgetCors = Callable[[str, str], Awaitable[bool]]


def json_response(answer: BaseModel | bytes, *, headers: dict[str, str] | None = None) -> Response:
    """A route's answer serialised once, here (a model, by its aliases) or by the route (bytes):
    returned as a model, FastAPI would validate it against the route's `response_model` again before
    serialising it. The route still declares that model, which documents the answer in OpenAPI."""
    body = answer if isinstance(answer, bytes) else answer.model_dump_json(by_alias=True).encode()
    return Response(body, media_type="application/json", headers=headers)


def create_app(
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    settings: Settings | None = None,
    widget_cors: WidgetCors | None = None,
) -> FastAPI:
    """An app with the platform's error envelope, request ids, body limit, HEAD and CORS.

    `widget_cors` answers CORS for responses under `/v1/widgets/{id}/` that no route decided on
    (see `CorsMiddleware`). Nothing here touches the network.
    """
    settings = settings or get_settings()
    # FastAPI's native OpenTelemetry is off: nothing here configures OpenTelemetry (Powertools
    # traces in AWS), and left on it asks OpenTelemetry for its global providers on every request
    # (~15 us each, docs/benchmarks.md "Relay overhead").
    app = FastAPI(
        title=title,
        docs_url=None,
        redoc_url=None,
        responses=ERROR_RESPONSES,
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    # Routers are matched in order, and FastAPI (0.163) spends a few microseconds on every route it
    # tries: the visitor routes (`/v1/widgets/...`, the busiest) go first. The other routers' routes
    # live under other prefixes (/v1/admin, /v1/analytics, /v1/auth), so every request still reaches
    # the route it reached before (docs/benchmarks.md "Relay overhead").
    for router in sorted(routers, key=lambda r: not _serves_visitors(r)):
        _document_errors(router)
        app.include_router(router)
    _install_error_handlers(app)
    # Added innermost first. CORS is outermost, so every response gets its headers, the 500 that
    # RequestContextMiddleware makes of an unhandled exception and the 413 of an oversized body too.
    app.add_middleware(HeadMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES)
    if settings.origin_verify_secret is not None:
        app.add_middleware(OriginVerifyMiddleware, secret=settings.origin_verify_secret.get_secret_value())
    app.add_middleware(RequestContextMiddleware)
    app.add_middleware(CorsMiddleware, widget_cors=widget_cors)
    return app


def _document_errors(router: APIRouter) -> None:
    """Every error a route documents answers the error envelope: say so in its OpenAPI entry (a
    route's own entry replaces the app-wide one, model included)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            for status, response in route.responses.items():
                if str(status)[:1] in ("4", "5") and "model" not in response:
                    response["model"] = ErrorResponse


def _serves_visitors(router: APIRouter) -> bool:
    return any(isinstance(r, APIRoute) and WIDGET_PATH.match(r.path) for r in router.routes)


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
    request.state.cors_origin = origin or ""


def refuse_cors(request: Request) -> None:
    """Let no page read this response cross-origin (the route decided; see `CorsMiddleware`)."""
    request.state.cors_origin = ""


def client_ip(request: Request, header: str) -> str:
    """The visitor as per-address rate limits count it: an IPv4 address, or the /64 network of an
    IPv6 address (one subscriber's network, whose addresses it may rotate at will).

    Read from `header` when the platform sits behind a proxy that sets it (CloudFront's
    `CloudFront-Viewer-Address`, "ip:port", or a bare address); else, and when that value is not an
    address, from the connection's peer, so that no made-up value can name or dodge a bucket.
    """
    if header:
        value = request.headers.get(header, "").strip()
        if value:
            address = parse_address(value, port_suffixed=header.lower() in PORT_SUFFIXED_HEADERS)
            if address is not None:
                return address_key(address)
            logger.warning(
                "client address header is not an address; using the peer", extra={"header": header}
            )
    peer = request.client.host if request.client else ""
    address = parse_address(peer, port_suffixed=False)
    return address_key(address) if address is not None else peer or "unknown"


def parse_address(value: str, *, port_suffixed: bool) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address in "[v6]:port", "v4:port", "v6:port" or a bare address; None if it is none of these.

    A value that reads both as a bare IPv6 address and as a shorter one with ":port" is taken as
    `port_suffixed` says.
    """
    if value.startswith("["):
        host, bracket, port = value[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and _is_port(port[1:]))):
            return None
        address = _ip(host)
        return address if isinstance(address, ipaddress.IPv6Address) else None
    host, colon, port = value.rpartition(":")
    with_port = _ip(host) if colon and _is_port(port) else None
    if port_suffixed:
        return with_port or _ip(value)
    return _ip(value) or with_port


def address_key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The rate-limit identity of an address: an IPv4 address as is (also when written as an
    IPv4-mapped IPv6 address), an IPv6 address as its /64 network."""
    if isinstance(address, ipaddress.IPv4Address):
        return str(address)
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    host_bits = 128 - IPV6_NETWORK_PREFIX
    return str(ipaddress.IPv6Network((int(address) >> host_bits << host_bits, IPV6_NETWORK_PREFIX)))


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _is_port(text: str) -> bool:
    return 0 < len(text) <= 5 and text.isascii() and text.isdigit() and int(text) <= 65535


def _install_error_handlers(app: FastAPI) -> None:
    async def on_app_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AppError)
        if exc.status_code >= 500:
            # What the caller is not told (a database error's reason, say) is in the log.
            logger.warning("request failed", extra={"code": exc.code, "reason": getattr(exc, "reason", None)})
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
        if exc.status_code == 400:
            # The framework answers 400 only for a body it could not parse: FastAPI for anything
            # `json.loads` raises other than a syntax error (invalid UTF-8, nesting past the
            # recursion limit, an integer over 4,300 digits...), Starlette for a broken form. That
            # is malformed input like any other: 422, as FastAPI answers a JSON syntax error.
            return JSONResponse(
                error_body(
                    "validation_error",
                    "body: the request body could not be parsed",
                    details=[{"loc": ["body"], "msg": "could not be parsed", "type": "json_invalid"}],
                ),
                status_code=422,
            )
        code = code_for_status(exc.status_code)
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
    """Adds CORS headers to a response for the page's Origin when the widget it concerns allows
    that origin; nothing otherwise.

    A public route decides (`allow_cors`, `refuse_cors`) once it has checked the Origin against its
    widget, so its errors, a 429 and its Retry-After say, stay readable. A response no route decided
    on (a 413 before routing, a 404 or 405, a 422 for a body that does not parse, the 500 of an
    unhandled exception) follows the same rule for the widget the path names
    (`/v1/widgets/{id}/...`): a live widget allows its allowed origins, an unknown or unavailable
    one any origin (its 404 reveals nothing). Other paths get no CORS headers.
    """

    def __init__(self, app: ASGIApp, *, widget_cors: WidgetCors | None) -> None:
        self.app = app
        self.widget_cors = widget_cors

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with the routes' `request.state`
        origin = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"origin"), "")

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and origin and await self._allows(scope, origin):
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"access-control-expose-headers", EXPOSED_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _allows(self, scope: Scope, origin: str) -> bool:
        decided: str | None = scope["state"].get("cors_origin")
        if decided is not None:
            return decided == origin
        match = WIDGET_PATH.match(scope.get("path", ""))
        if match is None or self.widget_cors is None:
            return False
        return await self.widget_cors(match.group(1), origin)


class HeadMiddleware:
    """Answers HEAD on every GET route as GET does, without the body: same status and headers
    (Content-Length and ETag included). FastAPI routes answer only the methods they declare, and
    neither Mangum nor every server drops a body the app sends to a HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.start":
                await send(message)
            elif not message.get("more_body", False):  # the last part of the body (or of a file)
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        # A copy: the server keeps seeing HEAD in its own scope (uvicorn then sends no body either).
        await self.app({**scope, "method": "GET"}, receive, send_without_body)


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
