"""How the relay classifies every way a webhook call can fail: each client error kind has its
DESIGN.md error type, and an exception of any other type is still a `RelayError`, never a 500."""

from __future__ import annotations

from typing import Any

import h11
import pytest

from shared.services import relay
from shared.services.relay import RelayError, call_webhook
from shared.webhook_client import (
    BodyTooLargeError,
    Response,
    WebhookBlockedError,
    WebhookBusyError,
    WebhookClient,
    WebhookConnectError,
    WebhookHTTPError,
    WebhookRequestError,
    WebhookTimeoutError,
    WebhookTLSError,
)
from shared.webhook_url import WebhookPolicy

URL = "https://n8n.example/webhook/abc?token=s3cr3t"


class FailingClient:
    """Stands in for `WebhookClient`: raises `error`, or answers `response`."""

    def __init__(self, error: BaseException | None = None, response: Response | None = None) -> None:
        self.error, self.response = error, response
        self.calls: list[dict[str, Any]] = []

    async def post(self, url: str, **kwargs: Any) -> Response:
        self.calls.append({"url": url, **kwargs})
        if self.error is not None:
            raise self.error
        assert self.response is not None
        return self.response


async def relay_error(client: FailingClient) -> RelayError:
    with pytest.raises(RelayError) as caught:
        await call_webhook(
            client,  # type: ignore[arg-type]
            URL,
            body=b"{}",
            headers={},
            timeout_seconds=3,
            pool_key="widget-1",
        )
    return caught.value


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("error", "error_type"),
    [
        (WebhookTimeoutError("no reply"), "timeout"),
        (WebhookBlockedError("169.254.169.254 is link-local"), "blocked_address"),
        (WebhookBusyError("no slot"), "overloaded"),
        (WebhookTLSError("CERTIFICATE_VERIFY_FAILED"), "tls"),
        (WebhookConnectError("refused"), "unreachable"),
        (BodyTooLargeError("reply exceeds 262144 bytes"), "too_large"),
        (WebhookHTTPError("invalid HTTP response"), "invalid_response"),
        (WebhookRequestError("invalid header 'X'"), "invalid_response"),
        # Anything that escapes the client anyway is still a classified failure
        (h11.RemoteProtocolError("illegal status line"), "invalid_response"),
        (RecursionError("maximum recursion depth exceeded"), "invalid_response"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "invalid_response"),
        (KeyError("content-type"), "invalid_response"),
        (ValueError(f"bad URL {URL}"), "invalid_response"),
    ],
)
async def test_every_failure_is_a_relay_error_of_its_kind(error: Exception, error_type: str) -> None:
    failure = await relay_error(FailingClient(error))
    assert failure.error_type == error_type
    assert "s3cr3t" not in failure.detail


@pytest.mark.anyio
async def test_the_timeout_and_the_pool_key_go_to_the_client() -> None:
    client = FailingClient(response=Response(200, {"content-type": "application/json"}, b'{"output":"hi"}'))
    reply = await call_webhook(
        client,  # type: ignore[arg-type]
        URL,
        body=b"{}",
        headers={"X": "y"},
        timeout_seconds=7,
        pool_key="widget-1",
    )
    assert reply.text == "hi"
    assert client.calls == [
        {"url": URL, "body": b"{}", "headers": {"X": "y"}, "timeout_seconds": 7, "pool_key": "widget-1"}
    ]


@pytest.mark.anyio
async def test_an_unexpected_error_reading_the_reply_is_invalid_response(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def explode(*_: object) -> None:
        raise RecursionError("deep")

    monkeypatch.setattr(relay, "parse_response", explode)
    failure = await relay_error(FailingClient(response=Response(200, {}, b"{}")))
    assert failure.error_type == "invalid_response"


def test_error_kinds_are_also_the_builtin_kinds_callers_expect() -> None:
    assert issubclass(WebhookTimeoutError, TimeoutError) and issubclass(WebhookTimeoutError, WebhookHTTPError)
    assert issubclass(WebhookRequestError, ValueError)
    for kind in (WebhookBlockedError, WebhookBusyError, WebhookConnectError, BodyTooLargeError):
        assert issubclass(kind, WebhookHTTPError)


@pytest.mark.anyio
async def test_bad_urls_and_headers_fail_before_any_connection() -> None:
    # The unit tests' sockets refuse to connect: these must fail without trying
    client = WebhookClient(max_connections=1, max_response_bytes=10, user_agent="t", policy=WebhookPolicy())
    for url, kind in [
        ("ftp://n8n.example/x", WebhookConnectError),
        ("https://user:pw@n8n.example/x", WebhookConnectError),
        ("https://n8n.example:99999/x", WebhookConnectError),
        ("https://n8n.example/a b", WebhookConnectError),
        ("http://n8n.example/x", WebhookBlockedError),  # https only
        ("https://[::ffff:169.254.169.254]/x", WebhookBlockedError),
    ]:
        with pytest.raises(kind):
            await client.post(url, body=b"", headers={}, timeout_seconds=1, pool_key="w")
    for headers in (
        {"X-Evil": "a\r\nHost: other"},
        {"Bad Name": "x"},
        {"X": "caf\u00e9\u2603"},
        {"X": "\x00"},
    ):
        with pytest.raises(WebhookRequestError, match="invalid header"):
            await client.post(
                "https://n8n.example/x", body=b"", headers=headers, timeout_seconds=1, pool_key="w"
            )
