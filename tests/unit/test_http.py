"""The app factory's contract: every error is the JSON envelope, with a request id."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel

from shared.errors import NotFoundError, RateLimitedError
from shared.http import create_app
from tests.conftest import make_settings

router = APIRouter()


class Body(BaseModel):
    value: int


@router.get("/missing")
async def missing() -> None:
    raise NotFoundError("No such thing.", code="thing_not_found")


@router.get("/limited")
async def limited() -> None:
    raise RateLimitedError("Slow down.", retry_after=7)


@router.post("/echo")
async def echo(body: Body) -> Body:
    return body


@router.get("/broken")
async def broken() -> None:
    raise RuntimeError("database password is hunter2")


def client() -> httpx.AsyncClient:
    app = create_app(
        title="t", routers=[router], settings=make_settings("postgresql://u@localhost/never-used")
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
    )


@pytest.mark.anyio
async def test_typed_errors_map_to_status_code_and_headers() -> None:
    async with client() as c:
        missing = await c.get("/missing")
        limited = await c.get("/limited")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "thing_not_found", "message": "No such thing."}}
    assert limited.status_code == 429 and limited.headers["retry-after"] == "7"


@pytest.mark.anyio
async def test_validation_errors_name_the_field_without_echoing_input() -> None:
    async with client() as c:
        response = await c.post("/echo", json={"value": "secret-token-value"})
        not_json = await c.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error" and "value" in error["message"]
    assert "secret-token-value" not in response.text
    assert not_json.status_code == 422


@pytest.mark.anyio
async def test_unhandled_errors_are_a_500_envelope_that_leaks_nothing() -> None:
    async with client() as c:
        response = await c.get("/broken")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text and response.headers["x-request-id"]


def test_client_ip_prefers_the_trusted_proxy_header() -> None:
    from starlette.requests import Request

    from shared.http import client_ip

    def request(headers: dict[str, str]) -> Request:
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        return Request({"type": "http", "headers": raw, "client": ("10.0.0.9", 1234)})

    header = "cloudfront-viewer-address"
    assert client_ip(request({header: "198.51.100.10:46532"}), header) == "198.51.100.10"
    assert client_ip(request({header: "2001:db8::1:46532"}), header) == "2001:db8::1"
    assert (
        client_ip(request({header: "198.51.100.10:46532"}), "") == "10.0.0.9"
    )  # not configured: not trusted
    assert client_ip(request({"x-forwarded-for": "1.2.3.4"}), header) == "10.0.0.9"


@pytest.mark.anyio
async def test_with_an_origin_verify_secret_only_requests_carrying_it_are_served() -> None:
    secret = "s" * 40
    app = create_app(
        title="t",
        routers=[router],
        settings=make_settings("postgresql://u@localhost/never-used", origin_verify_secret=secret),
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        direct = await c.get("/missing")
        forged = await c.get("/missing", headers={"X-Origin-Verify": "s" * 39})
        through_cloudfront = await c.get("/missing", headers={"X-Origin-Verify": secret})
    for refused in (direct, forged):
        assert refused.status_code == 403 and refused.headers["x-request-id"]
        assert refused.json()["error"]["code"] == "direct_access"
        assert secret not in refused.text
    assert through_cloudfront.status_code == 404
    assert through_cloudfront.json()["error"]["code"] == "thing_not_found"
