"""Hostile and malformed webhook replies through the public API: the visitor gets the fallback (502)
or a cleaned reply (200), never a 500, and every exchange is logged exactly once."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator

import pytest

from shared.db import Database
from shared.models import Widget
from tests.factories import make_widget
from tests.integration.conftest import PublicApi

pytestmark = pytest.mark.anyio
FALLBACK = "Our assistant is away."


class RawServer:
    """Answers every connection with the same raw bytes, then closes it: a webhook that speaks
    whatever it likes."""

    def __init__(self) -> None:
        self.reply = b""
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/webhook/raw"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    received = b""
                    while b"\r\n\r\n" not in received:
                        received += conn.recv(65536)
                    conn.sendall(self.reply)
                    conn.shutdown(socket.SHUT_WR)
                    conn.recv(65536)
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


def _response(head: str, body: bytes = b"") -> bytes:
    return head.replace("\n", "\r\n").encode("utf-8") + b"\r\n" + body


def _json(body: bytes, status: str = "200 OK") -> bytes:
    return _response(
        f"HTTP/1.1 {status}\nContent-Type: application/json\nContent-Length: {len(body)}\n", body
    )


DEEP = b"[" * 100_000 + b"]" * 100_000
MALFORMED = {
    "deep JSON nesting": _json(DEEP),
    "deep nesting in an object": _json(b'{"output": ' + DEEP + b"}"),
    "negative chunk size": _response(
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"-5\r\nhello\r\n0\r\n\r\n"
    ),
    "hex-prefixed chunk size": _response(
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"0x5\r\nhello\r\n0\r\n\r\n"
    ),
    "underscored chunk size": _response(
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"0_5\r\nhello\r\n0\r\n\r\n"
    ),
    "non-ASCII Content-Length": _response("HTTP/1.1 200 OK\nContent-Length: ²\n", b"hi"),
    "non-ASCII status": _response("HTTP/1.1 ²00 OK\nContent-Length: 2\n", b"hi"),
    "four-digit status": _response("HTTP/1.1 2000 OK\nContent-Length: 17\n", b'{"output": "hi!"}'),
    "transfer coding merely containing chunked": _response(
        "HTTP/1.1 200 OK\nTransfer-Encoding: notchunked\n", b'5\r\n{"a":\r\n0\r\n\r\n'
    ),
    "conflicting lengths": _response("HTTP/1.1 200 OK\nContent-Length: 5\nContent-Length: 7\n", b"hello"),
    "NUL in a header": _response("HTTP/1.1 200 OK\nX-Evil: a\x00b\nContent-Length: 2\n", b"hi"),
    "truncated body": _response("HTTP/1.1 200 OK\nContent-Length: 100\n", b'{"output": "hi'),
    "no status line": b"hello there\r\n\r\n",
    "closed before any byte": b"",
    "truncated head": b"HTTP/1.1 200 OK\r\nContent-Len",
    "header without a colon": _response("HTTP/1.1 200 OK\nthis is not a header\nContent-Length: 2\n", b"hi"),
    "space before a header colon": _response("HTTP/1.1 200 OK\nContent-Length : 2\n", b"hi"),
    "chunk bigger than announced": _response(
        "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n", b"2\r\nhello\r\n0\r\n\r\n"
    ),
    "huge head": _response("HTTP/1.1 200 OK\nX-Big: " + "a" * 200_000 + "\nContent-Length: 2\n", b"hi"),
    "oversized declared body": _response("HTTP/1.1 200 OK\nContent-Length: 999999999999\n", b"hi"),
    "big integer confidence only": _json(b'{"confidence": ' + b"9" * 5000 + b"}"),
    "JSON not an object": _json(b"42"),
}


@pytest.fixture
async def raw_widget(db: Database, raw_server: RawServer) -> Widget:
    widget, _ = await make_widget(db, webhook_url=raw_server.url, config={"fallback_message": FALLBACK})
    return widget


@pytest.mark.parametrize("name", MALFORMED)
async def test_a_malformed_reply_gives_the_fallback_and_one_failed_log(
    name: str, api: PublicApi, raw_widget: Widget, raw_server: RawServer
) -> None:
    raw_server.reply = MALFORMED[name]
    _, token = await api.start_session(raw_widget)
    response = await api.send(raw_widget, token, f"question about {name}")
    assert response.status_code == 502, response.text
    assert response.json()["error"]["message"] == FALLBACK
    logs = api.chat_logs()
    assert [(log["message"], log["status"]) for log in logs] == [(f"question about {name}", "failed")]
    errors = api.webhook_errors()
    assert len(errors) == 1
    expected = {"oversized declared body": "too_large", "closed before any byte": "unreachable"}
    assert errors[0]["error_type"] == expected.get(name, "invalid_response")


@pytest.mark.parametrize(
    ("body", "text", "topic"),
    [
        (b'{"output": "caf\\ud800e", "topic": "bad\\udfff"}', "caf\ufffde", "bad\ufffd"),
        (b'{"output": "nul\\u0000here", "topic": "\\u0000"}', "nulhere", None),
        ("\ufeff".encode() + b'{"output": "after a BOM"}', "after a BOM", None),
        (b'[{"output": "first"}, {"output": "second"}]', "first", None),
    ],
)
async def test_replies_that_need_cleaning_are_stored_as_valid_text(
    body: bytes, text: str, topic: str | None, api: PublicApi, raw_widget: Widget, raw_server: RawServer
) -> None:
    raw_server.reply = _json(body)
    _, token = await api.start_session(raw_widget)
    response = await api.send(raw_widget, token)
    assert response.status_code == 200, response.text
    assert response.json()["reply"] == text
    (log,) = api.chat_logs()
    assert (log["response"], log["topic"], log["status"]) == (text, topic, "answered")
    json.dumps(response.json())  # valid Unicode all the way to the browser
