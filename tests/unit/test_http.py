"""The app factory's contract: every error is the JSON envelope, with a request id."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.requests import Request

from shared.errors import NotFoundError, RateLimitedError
from shared.http import address_key, client_ip, create_app
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


UNPARSEABLE_BODIES = {
    "invalid UTF-8": b'{"value": "\xff\xfe"}',
    "nesting past the recursion limit": b"[" * 5_000 + b"]" * 5_000,
    "an integer over 4,300 digits": b'{"value": ' + b"9" * 5_000 + b"}",
    "a JSON syntax error": b"{not json",
}


@pytest.mark.anyio
@pytest.mark.parametrize("name", UNPARSEABLE_BODIES)
async def test_a_body_that_does_not_parse_is_a_422_envelope(name: str) -> None:
    async with client() as c:
        response = await c.post(
            "/echo", content=UNPARSEABLE_BODIES[name], headers={"content-type": "application/json"}
        )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_error" and error["message"]


@router.get("/etagged")
async def etagged() -> JSONResponse:
    return JSONResponse({"value": 1}, headers={"ETag": '"v1"'})


@pytest.mark.anyio
async def test_head_answers_like_get_without_a_body() -> None:
    async with client() as c:
        get = await c.get("/etagged")
        head = await c.head("/etagged")
        head_missing = await c.head("/missing")
        head_post_only = await c.head("/echo")
    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["etag"] == get.headers["etag"] == '"v1"'
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
    assert head_missing.status_code == 404 and head_missing.content == b""
    assert head_post_only.status_code == 405 and head_post_only.content == b""


@pytest.mark.anyio
async def test_unhandled_errors_are_a_500_envelope_that_leaks_nothing() -> None:
    async with client() as c:
        response = await c.get("/broken")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "hunter2" not in response.text and response.headers["x-request-id"]


@pytest.mark.anyio
async def test_visitor_routes_are_tried_first_and_every_route_still_answers() -> None:
    # Routes are matched in order at a few microseconds each: the busiest (visitor) routers first.
    operator, visitor = APIRouter(), APIRouter()

    @operator.get("/v1/admin/things")
    async def things() -> dict[str, str]:
        return {"from": "operator"}

    @visitor.get("/v1/widgets/{widget_id}/things")
    async def widget_things(widget_id: str) -> dict[str, str]:
        return {"from": widget_id}

    app = create_app(
        title="t", routers=[operator, visitor], settings=make_settings("postgresql://u@localhost/never-used")
    )
    assert list(app.openapi()["paths"]) == ["/v1/widgets/{widget_id}/things", "/v1/admin/things"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        assert (await c.get("/v1/admin/things")).json() == {"from": "operator"}
        assert (await c.get("/v1/widgets/w1/things")).json() == {"from": "w1"}


def _request(headers: dict[str, str], peer: tuple[str, int] | None = ("10.0.0.9", 1234)) -> Request:
    raw = [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
    return Request({"type": "http", "headers": raw, "client": peer})


CLOUDFRONT = "cloudfront-viewer-address"


def test_client_ip_prefers_the_trusted_proxy_header() -> None:
    assert client_ip(_request({CLOUDFRONT: "198.51.100.10:46532"}), CLOUDFRONT) == "198.51.100.10"
    # not configured: not trusted
    assert client_ip(_request({CLOUDFRONT: "198.51.100.10:46532"}), "") == "10.0.0.9"
    assert client_ip(_request({"x-forwarded-for": "1.2.3.4"}), CLOUDFRONT) == "10.0.0.9"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("198.51.100.10:46532", "198.51.100.10"),  # v4:port
        ("198.51.100.10", "198.51.100.10"),  # bare v4
        ("[2001:db8::5]:443", "2001:db8::/64"),  # [v6]:port
        ("[2001:db8::5]", "2001:db8::/64"),
        ("2001:db8::1:46532", "2001:db8::/64"),  # v6:port, as CloudFront writes it
        ("2001:db8::5", "2001:db8::/64"),  # bare v6
        ("2001:db8:1:2:aaaa:bbbb:cccc:dddd:443", "2001:db8:1:2::/64"),
        ("::ffff:198.51.100.10:443", "198.51.100.10"),  # IPv4-mapped: the IPv4 address
        ("[::ffff:198.51.100.10]:443", "198.51.100.10"),
    ],
)
def test_client_ip_reads_every_address_form(value: str, expected: str) -> None:
    assert client_ip(_request({CLOUDFRONT: value}), CLOUDFRONT) == expected
    assert client_ip(_request({"x-viewer-address": value}), "x-viewer-address") == expected


def test_client_ip_keys_ipv6_by_its_64() -> None:
    # Given addresses from one IPv6 /64, ports and all, and one from the next /64
    same = [f"2001:db8:0:7::{i}:{40000 + i}" for i in range(1, 6)] + ["[2001:db8:0:7:ffff::1]:1"]
    other = "2001:db8:0:8::1:443"
    # When they are keyed
    keys = {client_ip(_request({CLOUDFRONT: value}), CLOUDFRONT) for value in same}
    # Then the /64 is one visitor, the next /64 another
    assert keys == {"2001:db8:0:7::/64"}
    assert client_ip(_request({CLOUDFRONT: other}), CLOUDFRONT) == "2001:db8:0:8::/64"


def test_a_port_suffixed_header_splits_the_port_even_when_the_rest_reads_as_an_address() -> None:
    # "2001:db8::1:2:3:4" + ":443" also reads as the bare 2001:db8:0:1:2:3:4:443, another /64
    value = "2001:db8::1:2:3:4:443"
    assert client_ip(_request({CLOUDFRONT: value}), CLOUDFRONT) == "2001:db8::/64"
    # a header of bare addresses (the CloudFront Function's X-Viewer-Address) reads it whole
    assert client_ip(_request({"x-viewer-address": value}), "x-viewer-address") == "2001:db8:0:1::/64"


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "2001:db8:",
        "unknown",
        "1.2.3.4:99999",
        "1.2.3.4:",
        ":443",
        "[2001:db8::1",
        "[1.2.3.4]:80",
        "[::1]x",
        "01.2.3.4",
        "1.2.3.4, 5.6.7.8",
        "1.2.3.4:8\u00b2",
    ],
)
def test_client_ip_falls_back_to_the_peer_for_values_that_are_not_addresses(value: str) -> None:
    assert client_ip(_request({CLOUDFRONT: value}), CLOUDFRONT) == "10.0.0.9"
    assert client_ip(_request({CLOUDFRONT: value}, peer=("2001:db8::9", 1)), CLOUDFRONT) == "2001:db8::/64"


def test_client_ip_of_a_peer_that_is_no_address_is_that_peer() -> None:
    assert client_ip(_request({}, peer=None), CLOUDFRONT) == "unknown"
    assert client_ip(_request({}, peer=("::ffff:10.0.0.1", 1)), "") == "10.0.0.1"


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("fe80::1%eth0", "fe80::/64"),
    ],
)
def test_address_key(address: str, key: str) -> None:
    assert address_key(ipaddress.ip_address(address)) == key


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
