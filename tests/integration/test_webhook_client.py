"""The relay's HTTP/1.1 client against real local servers that answer with scripted raw bytes."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import trustme

from shared.webhook_client import (
    KEEPALIVE_SECONDS,
    BodyTooLargeError,
    WebhookClient,
    WebhookConnectError,
    WebhookHTTPError,
    WebhookTLSError,
)
from shared.webhook_url import WebhookPolicy
from tests.loopback import LoopbackServer, read_request
from tests.n8n import refused_url

LIMIT = 1000
LOCAL = WebhookPolicy(allow_insecure=True)  # the test servers listen on loopback
TIMEOUT = 10.0


def ok(body: bytes = b'{"output":"ok"}', *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


CLOSE = b""  # in a script: close the connection instead of answering


@dataclass
class RawServer(LoopbackServer):
    """Answers the n-th request (over all connections) with `script[n]`; records requests as
    (connection number, head, body)."""

    script: list[bytes]
    ssl_context: ssl.SSLContext | None = None
    requests: list[tuple[int, bytes, bytes]] = field(default_factory=list)
    connections: int = 0
    delay: float = 0.0
    port: int = 0

    def url(self, path: str = "/webhook/abc?x=1") -> str:
        # The test certificate is for "localhost"
        return (
            f"https://localhost:{self.port}{path}"
            if self.ssl_context
            else f"http://127.0.0.1:{self.port}{path}"
        )

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                head, body = await read_request(reader)
                self.requests.append((number, head, body))
                answer = self.script[len(self.requests) - 1]
                await asyncio.sleep(self.delay)
                if answer == CLOSE:
                    break
                writer.write(answer)
                await writer.drain()
                lower = answer.lower()
                delimited = b"content-length" in lower or b"transfer-encoding" in lower
                if b"connection: close" in lower or not delimited:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def client() -> AsyncIterator[WebhookClient]:
    webhooks = WebhookClient(max_connections=4, max_response_bytes=LIMIT, user_agent="test/1", policy=LOCAL)
    yield webhooks
    await webhooks.aclose()


async def post(webhooks: WebhookClient, url: str, body: bytes = b'{"chatInput":"hi"}') -> tuple[int, bytes]:
    response = await webhooks.post(
        url, body=body, headers={"Content-Type": "application/json"}, timeout_seconds=TIMEOUT, pool_key="w"
    )
    return response.status, response.body


@pytest.fixture(params=["asyncio", pytest.param(("asyncio", {"use_uvloop": True}), id="uvloop")])
def anyio_backend(request: pytest.FixtureRequest) -> object:
    """Every test on the standard loop and on uvloop (the dev runner's loop)."""
    return request.param


@pytest.mark.anyio
async def test_it_sends_one_well_formed_post_and_keeps_the_connection(client: WebhookClient) -> None:
    async with RawServer([ok(b'{"output":"one"}'), ok(b'{"output":"two"}')]) as server:
        assert await post(client, server.url()) == (200, b'{"output":"one"}')
        assert await post(client, server.url()) == (200, b'{"output":"two"}')
    # Both requests went over one kept-alive connection
    assert [number for number, _, _ in server.requests] == [1, 1]
    head, body = server.requests[0][1], server.requests[0][2]
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /webhook/abc?x=1 HTTP/1.1"
    assert f"Host: 127.0.0.1:{server.port}" in lines
    assert "Content-Type: application/json" in lines and "Accept-Encoding: identity" in lines
    assert f"Content-Length: {len(body)}" in lines and body == b'{"chatInput":"hi"}'


@pytest.mark.anyio
async def test_a_connection_the_server_closes_is_not_reused(client: WebhookClient) -> None:
    async with RawServer([ok(b"1", "Connection: close"), ok(b"2")]) as server:
        assert await post(client, server.url()) == (200, b"1")
        assert await post(client, server.url()) == (200, b"2")
    assert [number for number, _, _ in server.requests] == [1, 2]


@pytest.mark.anyio
async def test_an_idle_connection_dropped_by_the_server_is_retried_once_on_a_new_one(
    client: WebhookClient,
) -> None:
    # The server takes the second request on the kept connection, then hangs up without answering
    # (as when an idle keep-alive times out just as a request arrives); a new connection answers.
    async with RawServer([ok(b"1"), CLOSE, ok(b"2")]) as server:
        assert await post(client, server.url()) == (200, b"1")
        assert await post(client, server.url()) == (200, b"2")
    assert [number for number, _, _ in server.requests] == [1, 1, 2]


@pytest.mark.anyio
async def test_a_new_connection_closed_without_an_answer_fails(client: WebhookClient) -> None:
    async with RawServer([CLOSE]) as server:
        with pytest.raises(WebhookHTTPError, match="closed the connection"):
            await post(client, server.url())


@pytest.mark.anyio
async def test_chunked_replies_with_extensions_and_trailers_are_joined(client: WebhookClient) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nHello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
    )
    async with RawServer([chunked, ok(b"after")]) as server:
        assert await post(client, server.url()) == (200, b"Hello, world")
        assert await post(client, server.url()) == (200, b"after")
    assert [number for number, _, _ in server.requests] == [1, 1]


@pytest.mark.anyio
async def test_a_reply_without_length_is_read_until_the_server_closes(client: WebhookClient) -> None:
    async with RawServer(
        [b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nplain to the end", ok()]
    ) as server:
        assert await post(client, server.url()) == (200, b"plain to the end")
        await post(client, server.url())
    assert [number for number, _, _ in server.requests] == [1, 2]


@pytest.mark.anyio
async def test_interim_responses_are_skipped(client: WebhookClient) -> None:
    async with RawServer([b"HTTP/1.1 100 Continue\r\n\r\n" + ok(b"final")]) as server:
        assert await post(client, server.url()) == (200, b"final")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            ok(b"x" * (LIMIT + 1)), f"reply of {LIMIT + 1} bytes exceeds {LIMIT} bytes", id="declared"
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + b"".join(b"64\r\n" + b"y" * 100 + b"\r\n" for _ in range(11))
            + b"0\r\n\r\n",
            f"reply exceeds {LIMIT} bytes",
            id="chunked",
        ),
        pytest.param(
            b"HTTP/1.1 200 OK\r\n\r\n" + b"z" * (LIMIT + 1), f"reply exceeds {LIMIT} bytes", id="until-close"
        ),
    ],
)
async def test_replies_over_the_limit_are_refused(client: WebhookClient, answer: bytes, message: str) -> None:
    async with RawServer([answer, ok(b"next")]) as server:
        with pytest.raises(BodyTooLargeError, match=message):
            await post(client, server.url())
        # And the half-read connection is not reused
        assert await post(client, server.url()) == (200, b"next")
    assert [number for number, _, _ in server.requests] == [1, 2]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", id="not-http"),
        pytest.param(b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", id="bad-header"),
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n", id="bad-length"),
        pytest.param(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", id="bad-chunk"),
    ],
)
async def test_malformed_replies_fail_clearly(client: WebhookClient, answer: bytes) -> None:
    async with RawServer([answer]) as server:
        with pytest.raises(WebhookHTTPError):
            await post(client, server.url())


@pytest.mark.anyio
async def test_connections_are_capped_and_later_calls_wait(client: WebhookClient) -> None:
    # max_connections is 4: eight concurrent calls to a slow server use four connections
    async with RawServer([ok(str(i).encode()) for i in range(8)], delay=0.05) as server:
        results = await asyncio.gather(*(post(client, server.url()) for _ in range(8)))
    assert sorted(body for _, body in results) == [str(i).encode() for i in range(8)]
    assert server.connections == 4


@pytest.mark.anyio
async def test_unreachable_and_unusable_urls_fail_to_connect(client: WebhookClient) -> None:
    with pytest.raises(WebhookConnectError):
        await post(client, refused_url())
    for url in ("ftp://127.0.0.1/x", "http://user:pw@127.0.0.1:1/x", "http://127.0.0.1:99999/x"):
        with pytest.raises(WebhookConnectError):
            await post(client, url)


@pytest.mark.anyio
async def test_header_injection_is_refused(client: WebhookClient) -> None:
    with pytest.raises(ValueError, match="invalid header"):
        await client.post(
            "http://127.0.0.1:1/x",
            body=b"",
            headers={"X-Evil": "a\r\nHost: other"},
            timeout_seconds=TIMEOUT,
            pool_key="w",
        )


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def tls_server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(context)
    return context


@pytest.mark.anyio
async def test_tls_with_a_trusted_certificate_works(certificate_authority: trustme.CA) -> None:
    trusting = ssl.create_default_context()
    certificate_authority.configure_trust(trusting)
    webhooks = WebhookClient(
        max_connections=1, max_response_bytes=LIMIT, user_agent="t", ssl_context=trusting, policy=LOCAL
    )
    async with RawServer([ok(b"secure")], ssl_context=tls_server_context(certificate_authority)) as server:
        assert await post(webhooks, server.url()) == (200, b"secure")
        await webhooks.aclose()


@pytest.mark.anyio
async def test_tls_with_an_untrusted_certificate_fails_as_tls(
    client: WebhookClient, certificate_authority: trustme.CA
) -> None:
    # The default trust (certifi's bundle) does not know the test authority
    async with RawServer([ok()], ssl_context=tls_server_context(certificate_authority)) as server:
        with pytest.raises(WebhookTLSError, match="CERTIFICATE_VERIFY_FAILED"):
            await post(client, server.url())


@pytest.mark.anyio
async def test_connections_idle_for_too_long_are_not_reused() -> None:
    now = [1000.0]
    webhooks = WebhookClient(
        max_connections=2, max_response_bytes=LIMIT, user_agent="t", clock=lambda: now[0], policy=LOCAL
    )
    async with RawServer([ok(b"1"), ok(b"2"), ok(b"3")]) as server:
        await post(webhooks, server.url())
        now[0] += KEEPALIVE_SECONDS - 0.5
        await post(webhooks, server.url())
        now[0] += KEEPALIVE_SECONDS + 0.5
        await post(webhooks, server.url())
        await webhooks.aclose()
    # Reused after a short pause (Node closes idle connections after 5 s); a new one after a long one
    assert [number for number, _, _ in server.requests] == [1, 1, 2]


@pytest.mark.anyio
async def test_idle_connections_are_capped_across_webhooks_keeping_the_newest() -> None:
    webhooks = WebhookClient(max_connections=1, max_response_bytes=LIMIT, user_agent="t", policy=LOCAL)
    async with RawServer([ok(), ok()]) as first, RawServer([ok()]) as second:
        await post(webhooks, first.url())
        await post(webhooks, second.url())  # keeping this one closes the idle one to `first`
        await post(webhooks, first.url())
        await webhooks.aclose()
    assert first.connections == 2 and second.connections == 1
