"""Every error a public widget route answers is the JSON envelope, and a page the widget allows can
read it (CORS), whichever layer made it: a route, its dependencies, routing, the body limit, the
unhandled-exception guard. A page the widget does not allow never gets CORS headers. HEAD answers
like GET without a body, under uvicorn and under Mangum alike."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, FastAPI
from mangum import Mangum

from shared.api.app import build_app
from shared.api.public.deps import PublicWidgetDep
from shared.db import Database
from shared.models import Widget
from tests.conftest import make_settings
from tests.factories import make_widget
from tests.integration.conftest import PUBLIC_ROUTERS
from tests.n8n import FakeN8n

SHOP = "https://shop.example"
EVIL = "https://evil.example"

# Test-only routes under the public prefix that fail the way a bug would.
broken = APIRouter()


@broken.get("/v1/widgets/{widget_id}/broken-after-check")
async def broken_after_check(widget: PublicWidgetDep) -> None:
    raise RuntimeError(f"a bug after checking {widget.id}")


@broken.get("/v1/widgets/{widget_id}/broken-before-check")
async def broken_before_check(widget_id: str) -> None:
    raise RuntimeError("a bug before any origin check")


def contract_app(db_url: str, **settings: Any) -> FastAPI:
    return build_app(
        title="contract",
        routers=[*PUBLIC_ROUTERS, broken],
        settings=make_settings(db_url, **settings),
        relay=True,
    )


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = contract_app(db_url, webhook_timeout_seconds=1.0)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://platform.test") as http:
        yield http
    await app.state.resources.aclose()


@pytest.fixture
async def shop_widget(db: Database, fake_n8n: FakeN8n) -> Widget:
    """A widget for pages of shop.example only, allowing one session start a minute per address."""
    widget, _ = await make_widget(
        db,
        webhook_url=fake_n8n.url,
        config={"allowed_origins": [SHOP], "rate_limit": {"per_ip_sessions_per_minute": 1}},
    )
    return widget


Call = Callable[[httpx.AsyncClient, Widget, str, dict[str, str]], Awaitable[httpx.Response]]


def _post_body(path: str, body: bytes) -> Call:
    async def call(
        http: httpx.AsyncClient, widget: Widget, token: str, headers: dict[str, str]
    ) -> httpx.Response:
        return await http.post(
            path.format(id=widget.id),
            content=body,
            headers={**headers, "Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )

    return call


def _request(method: str, path: str) -> Call:
    async def call(
        http: httpx.AsyncClient, widget: Widget, token: str, headers: dict[str, str]
    ) -> httpx.Response:
        url = path.format(id=widget.id, random=uuid.uuid4())
        return await http.request(method, url, headers={**headers, "Authorization": f"Bearer {token}"})

    return call


MESSAGES = "/v1/widgets/{id}/messages"
# name: (request, status a page of the widget's own origin gets, error code)
ERRORS: dict[str, tuple[Call, int, str]] = {
    "413 body over 64 KB": (
        _post_body(MESSAGES, b'{"message": "' + b"a" * 70_000 + b'"}'),
        413,
        "payload_too_large",
    ),
    "422 invalid UTF-8": (_post_body(MESSAGES, b'{"message": "\xff\xfe\xfd"}'), 422, "validation_error"),
    "422 nesting 5,000 deep": (
        _post_body(MESSAGES, b'{"message": "hi", "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        422,
        "validation_error",
    ),
    "422 integer of 5,000 digits": (
        _post_body(MESSAGES, b'{"message": "hi", "n": ' + b"7" * 5000 + b"}"),
        422,
        "validation_error",
    ),
    "422 JSON syntax": (_post_body(MESSAGES, b'{"message": '), 422, "validation_error"),
    "422 bad cursor": (_request("GET", MESSAGES + "?cursor=bm9wZQ=="), 422, "invalid_cursor"),
    "404 unknown route under the widget": (
        _request("GET", "/v1/widgets/{id}/nothing-here"),
        404,
        "not_found",
    ),
    "404 unknown message": (
        _post_body("/v1/widgets/{id}/messages/" + str(uuid.UUID(int=7)) + "/feedback", b'{"value": "up"}'),
        404,
        "message_not_found",
    ),
    "405 method": (_request("PUT", "/v1/widgets/{id}/config"), 405, "method_not_allowed"),
    "401 bad token": (_request("GET", MESSAGES), 401, "invalid_token"),
    "500 after the origin check": (
        _request("GET", "/v1/widgets/{id}/broken-after-check"),
        500,
        "internal_error",
    ),
    "500 before any origin check": (
        _request("GET", "/v1/widgets/{id}/broken-before-check"),
        500,
        "internal_error",
    ),
}


async def _session(http: httpx.AsyncClient, widget: Widget) -> str:
    started = await http.post(f"/v1/widgets/{widget.id}/sessions", headers={"Origin": SHOP})
    assert started.status_code == 201, started.text
    token: str = started.json()["token"]
    return token


def assert_envelope(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"], response.text


def assert_readable_by(response: httpx.Response, origin: str) -> None:
    assert response.headers.get("access-control-allow-origin") == origin, dict(response.headers)
    assert "Retry-After" in response.headers["access-control-expose-headers"]
    assert "Origin" in response.headers["vary"]


def assert_not_readable(response: httpx.Response) -> None:
    assert "access-control-allow-origin" not in response.headers, dict(response.headers)


@pytest.mark.anyio
@pytest.mark.parametrize("name", ERRORS)
async def test_every_error_is_readable_by_the_widgets_pages_only(
    client: httpx.AsyncClient, shop_widget: Widget, name: str
) -> None:
    # Given a session of a widget that allows pages of shop.example only
    call, status, code = ERRORS[name]
    token = "v1.forged.token" if name == "401 bad token" else await _session(client, shop_widget)
    # When a request fails from a page of shop.example, and the same from evil.example
    allowed = await call(client, shop_widget, token, {"Origin": SHOP})
    refused = await call(client, shop_widget, token, {"Origin": EVIL})
    # Then the shop's page can read the error envelope, and evil's page gets no CORS headers at all
    assert_envelope(allowed, status, code)
    assert_readable_by(allowed, SHOP)
    assert refused.status_code >= 400 and refused.json()["error"]["code"]
    assert_not_readable(refused)


@pytest.mark.anyio
async def test_a_429_is_readable_by_the_widgets_pages(client: httpx.AsyncClient, shop_widget: Widget) -> None:
    await _session(client, shop_widget)  # the one start a minute this widget allows per address
    limited = await client.post(f"/v1/widgets/{shop_widget.id}/sessions", headers={"Origin": SHOP})
    refused = await client.post(f"/v1/widgets/{shop_widget.id}/sessions", headers={"Origin": EVIL})
    assert_envelope(limited, 429, "rate_limited")
    assert_readable_by(limited, SHOP)
    assert int(limited.headers["retry-after"]) >= 1
    assert_envelope(refused, 403, "origin_not_allowed")
    assert_not_readable(refused)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("status", "code", "delay"), [(502, "bot_unavailable", 0.0), (504, "bot_timeout", 1.5)]
)
async def test_a_failing_webhook_answer_is_readable_by_the_widgets_pages(
    client: httpx.AsyncClient, shop_widget: Widget, fake_n8n: FakeN8n, status: int, code: str, delay: float
) -> None:
    # Given a workflow that fails (or does not answer in time)
    fake_n8n.reply({"message": "Error in workflow"}, status=500, delay=delay)
    token = await _session(client, shop_widget)
    # When the shop's page sends a message
    response = await client.post(
        f"/v1/widgets/{shop_widget.id}/messages",
        json={"message": "hello"},
        headers={"Authorization": f"Bearer {token}", "Origin": SHOP},
    )
    # Then it can read the fallback message
    assert_envelope(response, status, code)
    assert response.json()["error"]["message"] == shop_widget.config.fallback_message
    assert_readable_by(response, SHOP)


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/v1/widgets/{random}/nothing-here", "/v1/widgets/not-a-uuid/config"])
async def test_errors_about_a_widget_that_does_not_exist_are_readable_by_any_page(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path.format(random=uuid.uuid4()), headers={"Origin": EVIL})
    assert 400 <= response.status_code < 500 and response.json()["error"]["code"]
    assert_readable_by(response, EVIL)


@pytest.mark.anyio
async def test_an_unavailable_widget_still_answers_its_404_to_any_page(
    client: httpx.AsyncClient, db: Database
) -> None:
    widget, _ = await make_widget(db, is_active=False, config={"allowed_origins": [SHOP]})
    for path in ("config", "nothing-here"):
        response = await client.get(f"/v1/widgets/{widget.id}/{path}", headers={"Origin": EVIL})
        assert response.status_code == 404
        assert_readable_by(response, EVIL)


@pytest.mark.anyio
async def test_routes_outside_the_widget_api_get_no_cors(client: httpx.AsyncClient) -> None:
    for response in (
        await client.get("/v1/nothing", headers={"Origin": SHOP}),
        await client.post("/v1/nothing", content=b"x" * 70_000, headers={"Origin": SHOP}),
    ):
        assert response.status_code in (404, 413) and response.json()["error"]["code"]
        assert_not_readable(response)


@pytest.mark.anyio
async def test_head_on_config_answers_like_get_without_a_body(
    client: httpx.AsyncClient, shop_widget: Widget
) -> None:
    url = f"/v1/widgets/{shop_widget.id}/config"
    get = await client.get(url, headers={"Origin": SHOP})
    head = await client.head(url, headers={"Origin": SHOP})
    revalidated = await client.head(url, headers={"Origin": SHOP, "If-None-Match": get.headers["etag"]})
    unknown = await client.head(f"/v1/widgets/{uuid.uuid4()}/config", headers={"Origin": SHOP})
    assert get.status_code == head.status_code == 200 and head.content == b""
    for name in ("etag", "content-length", "content-type", "cache-control", "access-control-allow-origin"):
        assert head.headers[name] == get.headers[name], name
    assert int(head.headers["content-length"]) == len(get.content)
    assert revalidated.status_code == 304 and revalidated.content == b""
    assert unknown.status_code == 404 and unknown.content == b""


@contextmanager
def uvicorn_serving(app: FastAPI) -> Iterator[int]:
    """`app` under uvicorn on a free local port, in a thread with its own event loop; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))

    async def serve() -> None:
        try:
            await server.serve(sockets=[sock])
        finally:
            await app.state.resources.aclose()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()


def _raw_http(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(request)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_head_sends_no_body_under_uvicorn_or_mangum(db_url: str) -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        database = Database(db_url)
        widget, _ = loop.run_until_complete(make_widget(database))
        loop.run_until_complete(database.close())
        path = f"/v1/widgets/{widget.id}/config"

        # uvicorn: the raw bytes on the wire end with the header block
        with uvicorn_serving(contract_app(db_url)) as port:
            get = _raw_http(port, f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
            head = _raw_http(port, f"HEAD {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        _, _, get_body = get.partition(b"\r\n\r\n")
        head_headers, _, head_body = head.partition(b"\r\n\r\n")
        assert head_headers.startswith(b"HTTP/1.1 200") and head_body == b"", head
        assert f"content-length: {len(get_body)}".encode() in head_headers.lower()
        assert b"etag" in head_headers.lower()

        # Mangum (a Lambda function URL event): an empty body, the GET's headers
        app = contract_app(db_url)
        handler = Mangum(app, lifespan="off")

        def event(method: str) -> dict[str, Any]:
            return {
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": path,
                "rawQueryString": "",
                "headers": {"host": "fn.lambda-url.us-east-1.on.aws", "origin": SHOP},
                "requestContext": {
                    "http": {
                        "method": method,
                        "path": path,
                        "protocol": "HTTP/1.1",
                        "sourceIp": "203.0.113.9",
                    },
                    "requestId": "r",
                    "routeKey": "$default",
                    "stage": "$default",
                },
                "isBase64Encoded": False,
            }

        context = SimpleNamespace(aws_request_id="req-1")
        lambda_get = handler(event("GET"), context)
        lambda_head = handler(event("HEAD"), context)
        loop.run_until_complete(app.state.resources.aclose())
        assert lambda_head["statusCode"] == lambda_get["statusCode"] == 200
        assert lambda_head["body"] == "" and lambda_get["body"]
        assert lambda_head["headers"]["content-length"] == str(len(lambda_get["body"].encode()))
        assert lambda_head["headers"]["etag"] == lambda_get["headers"]["etag"]
        assert lambda_head["headers"]["access-control-allow-origin"] == SHOP
    finally:
        asyncio.set_event_loop(None)
        loop.close()
