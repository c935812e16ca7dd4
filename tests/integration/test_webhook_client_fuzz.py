"""Property: whatever bytes a webhook answers with, a call ends as a well-formed `Response` or one of
the `WebhookHTTPError` kinds (the relay: a `Reply` or a `RelayError`), never another exception; and
the next call on the same host then gets exactly its own reply.

A local socket server answers each request with the bytes hypothesis draws: status lines, header
names and values, framing (Content-Length, chunked, until close), bad chunk sizes (-5, 0x5, 0_5,
non-ASCII digits), truncation, oversize bodies, NUL and non-ASCII bytes, early close, huge heads.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar, get_args

import h11
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.models import WebhookErrorType
from shared.services.relay import RelayError, Reply, call_webhook
from shared.webhook_client import (
    MAX_HEAD_BYTES,
    Response,
    WebhookClient,
    WebhookHTTPError,
    WebhookRequestError,
)
from shared.webhook_url import WebhookPolicy
from tests.loopback import LoopbackServer, read_request

LIMIT = 1000
TIMEOUT = 0.05  # an incomplete reply on a connection the server keeps open ends as a timeout
GOOD_BODY = b'{"output":"the honest reply"}'
GOOD = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(GOOD_BODY), GOOD_BODY)
T = TypeVar("T")


class FuzzServer(LoopbackServer):
    """Answers every request with `reply`, then closes the connection or keeps reading requests."""

    def __init__(self) -> None:
        self.reply = GOOD
        self.close_after = False

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                await read_request(reader)
                writer.write(self.reply)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


class Harness:
    """A loop in its own thread (hypothesis drives each example synchronously) with the server and
    one client, so kept-alive connections carry over from one example to the next."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.server = FuzzServer()
        self.run(self.server.start())
        self.client = WebhookClient(
            max_connections=4,
            max_response_bytes=LIMIT,
            user_agent="fuzz/1",
            policy=WebhookPolicy(allow_insecure=True),
        )
        self.url = f"http://127.0.0.1:{self.server.port}/webhook/fuzz?x=1"

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    async def post(self, seconds: float = TIMEOUT) -> Response:
        return await self.client.post(
            self.url, body=b'{"chatInput":"hi"}', headers={}, timeout_seconds=seconds, pool_key="widget"
        )

    async def relay(self) -> Reply:
        return await call_webhook(
            self.client, self.url, body=b"{}", headers={}, timeout_seconds=TIMEOUT, pool_key="widget"
        )

    def close(self) -> None:
        """Close the client, stop the server (its connection handlers cancelled and awaited, so none
        is left to be collected after its loop is gone), then stop and close the loop."""
        self.run(self.client.aclose())
        self.run(self.server.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    running = Harness()
    yield running
    running.close()


EOLS = st.sampled_from([b"\r\n", b"\n", b"\r"])
VERSIONS = st.sampled_from(
    [
        b"HTTP/1.1",
        b"HTTP/1.0",
        b"HTTP/2",
        b"http/1.1",
        b"HTTP/1.10",
        b"HTTP/\xc2\xb9.1",
        b"ICY",
        b"",
        b"SSH-2.0",
    ]
)
STATUSES = st.sampled_from(
    [b"200", b"201", b"204", b"304", b"404", b"500", b"100", b"101", b"199", b"2000", b"20", b"099", b"000",
     b"\xc2\xb200", b"2\xc2\xb20", b"-20", b"+20", b" 200", b"2 00", b"abc", b"\xd9\xa2\xd9\xa0\xd9\xa0"]
) | st.integers(0, 9999).map(lambda n: str(n).encode())  # fmt: skip
REASONS = st.sampled_from([b"OK", b"", b"No Content", b"\xff\xfe", b"O\x00K", "Ärger".encode(), b"x" * 200])
NAMES = st.sampled_from(
    [b"Content-Length", b"content-length", b"Transfer-Encoding", b"Connection", b"Content-Type", b"X-A",
     b"Content-Length ", b" Content-Length", b"Content Length", b"\xc3\xa9", b"", b"X\x00Y"]
) | st.binary(max_size=20)  # fmt: skip
VALUES = st.sampled_from(
    [b"0", b"5", b"15", b"-5", b"0x5", b"0_5", b"\xc2\xb2", b"\xd9\xa5", b"5, 5", b"5, 6", b"9" * 30,
     b"0" * 30 + b"5", b"chunked", b"gzip, chunked", b"chunked, gzip", b"Chunked", b" chunked",
     b"identity", b"close", b"keep-alive", b"application/json", b"text/plain", b"\x00", b"\xff", b"a\rb"]
) | st.binary(max_size=40)  # fmt: skip
CHUNK_SIZES = st.sampled_from(
    [b"-5", b"0x5", b"0_5", b"\xc2\xb2", b"5 ", b" 5", b"5;ext=1", b"FFFFFFFFFFFFFFFFFFFFFFFF", b"", b"+5"]
)
BODIES = st.sampled_from([GOOD_BODY, b"", b"x" * (LIMIT + 1), b"\x00\xff\xfe", "é".encode()]) | st.binary(
    max_size=300
)


def mostly(draw: st.DrawFn, sane: st.SearchStrategy[T], wild: st.SearchStrategy[T]) -> T:
    """`sane` four times in five, else `wild`: most replies get deep into the parser."""
    return draw(wild) if draw(st.integers(0, 4)) == 4 else draw(sane)


SANE_VALUES = st.sampled_from([b"application/json", b"keep-alive", b"close", b"text/plain", b"x"])


@st.composite
def chunked(draw: st.DrawFn) -> bytes:
    out = b""
    for data in draw(st.lists(st.binary(min_size=1, max_size=400), max_size=4)):
        size = mostly(draw, st.just(b"%x" % len(data)), CHUNK_SIZES)
        out += size + b"\r\n" + data + mostly(draw, st.just(b"\r\n"), st.sampled_from([b"", b"\n", b"XX"]))
    return out + mostly(
        draw,
        st.sampled_from([b"0\r\n\r\n", b"0\r\nX-Trailer: y\r\n\r\n"]),
        st.sampled_from([b"0\r\n", b"", b"00\r\n\r\n", b"0;x\r\n\r\n", b"0\r\n\x00\r\n\r\n"]),
    )


@st.composite
def replies(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 9:
        return draw(st.binary(max_size=400))  # anything at all
    eol = mostly(draw, st.just(b"\r\n"), EOLS)
    version = mostly(draw, st.just(b"HTTP/1.1"), VERSIONS)
    status = mostly(draw, st.sampled_from([b"200", b"201", b"204", b"304", b"404", b"500"]), STATUSES)
    head = version + b" " + status + b" " + mostly(draw, st.just(b"OK"), REASONS) + eol
    sane = st.tuples(st.sampled_from([b"Content-Type", b"Connection", b"X-A"]), st.just(b": "), SANE_VALUES)
    wild = st.tuples(NAMES, st.sampled_from([b": ", b":", b" : ", b""]), VALUES)
    headers = [mostly(draw, sane, wild) for _ in range(draw(st.integers(0, 4)))]
    framing = draw(st.sampled_from(["length", "chunked", "close"]))
    body = draw(chunked()) if framing == "chunked" else mostly(draw, st.just(GOOD_BODY), BODIES)
    if framing == "length":
        headers.append((b"Content-Length", b": ", mostly(draw, st.just(b"%d" % len(body)), VALUES)))
    elif framing == "chunked":
        headers.append((b"Transfer-Encoding", b": ", mostly(draw, st.just(b"chunked"), VALUES)))
    if draw(st.integers(0, 20)) == 20:
        headers.append((b"X-Huge", b": ", b"h" * (MAX_HEAD_BYTES + 10)))
    head += b"".join(name + sep + value + eol for name, sep, value in draw(st.permutations(headers)))
    tail = mostly(draw, st.just(b""), st.sampled_from([GOOD, b"garbage", b"\r\n", b"HTTP/1.1 200 OK\r\n"]))
    reply = head + eol + body + tail
    if draw(st.integers(0, 4)) == 4:
        reply = reply[: draw(st.integers(0, len(reply)))]  # truncated
    return reply


# Mostly the server closes after its reply; kept open, an incomplete reply costs the timeout.
KEEP_OPEN_SOMETIMES = st.integers(0, 7).map(lambda n: n != 7)
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(reply=replies(), close_after=KEEP_OPEN_SOMETIMES)
def test_any_reply_ends_as_a_response_or_a_webhook_error(
    harness: Harness, reply: bytes, close_after: bool
) -> None:
    harness.server.reply, harness.server.close_after = reply, close_after
    try:
        response = harness.run(harness.post())
    except WebhookHTTPError:
        pass
    else:
        assert 200 <= response.status <= 999
        assert len(response.body) <= LIMIT
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in response.headers.items())
    # Whatever the last reply left behind, the next call reads exactly its own reply
    harness.server.reply, harness.server.close_after = GOOD, False
    response = harness.run(harness.post(seconds=10))
    assert (response.status, response.body) == (200, GOOD_BODY)


@FUZZ
@given(reply=replies(), close_after=KEEP_OPEN_SOMETIMES)
def test_the_relay_turns_any_reply_into_a_reply_or_a_relay_error(
    harness: Harness, reply: bytes, close_after: bool
) -> None:
    harness.server.reply, harness.server.close_after = reply, close_after
    error_type = None
    try:
        harness.run(harness.relay())
    except RelayError as exc:
        error_type = exc.error_type
    assert error_type is None or error_type in get_args(WebhookErrorType)


# A caller's request header is refused (WebhookRequestError, nothing sent) exactly when h11 would
# refuse it, and otherwise sent: no header h11 rejects reaches the socket, none it accepts is lost.
HEADER_CHARS = st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Z", "Cc"])
HEADER_NAMES = st.one_of(
    st.sampled_from(["Authorization", "X-Widget-Signature", "Content-Length", "Host", "Transfer-Encoding"]),
    st.text(st.sampled_from("Xx-_!#~:; \t\r\n\x00\x7féé"), max_size=8),
    st.text(HEADER_CHARS, max_size=8),
)
HEADER_VALUES = st.one_of(
    st.sampled_from(["Bearer a.b.c", "t=1,v1=ab", "2", "18", "chunked", " padded", "tab\tin", ""]),
    st.text(st.sampled_from("ab =;,\t\r\n\x00\x0b\x0c\x7f\x80é"), max_size=10),
    st.text(HEADER_CHARS, max_size=10),
)


@FUZZ
@given(name=HEADER_NAMES, value=HEADER_VALUES)
def test_a_request_header_is_refused_exactly_when_h11_refuses_it(
    harness: Harness, name: str, value: str
) -> None:
    harness.server.reply, harness.server.close_after = GOOD, False
    body = b'{"chatInput":"hi"}'
    sent_by_the_client = [
        ("Host", f"127.0.0.1:{harness.server.port}"),
        ("User-Agent", "fuzz/1"),
        ("Accept-Encoding", "identity"),
        ("Content-Length", str(len(body))),
    ]
    try:
        h11.Request(method="POST", target="/webhook/fuzz?x=1", headers=[*sent_by_the_client, (name, value)])
        h11_refuses = False
    except (h11.LocalProtocolError, UnicodeError, TypeError):
        h11_refuses = True

    async def call() -> Response:
        return await harness.client.post(
            harness.url, body=body, headers={name: value}, timeout_seconds=TIMEOUT, pool_key="headers"
        )

    try:
        harness.run(call())
        refused = False
    except WebhookRequestError:
        refused = True
    except WebhookHTTPError:  # sent, then the exchange failed (a Transfer-Encoding the server refuses)
        refused = False
    assert refused == h11_refuses, (name, value)
