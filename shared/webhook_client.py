"""The relay's HTTP/1.1 client: POSTs to webhooks over kept-alive asyncio connections.

The relay used httpx, and httpx + httpcore + anyio cost ~0.75 ms of CPU per call, a third of all
the CPU a relayed message took (docs/benchmarks.md); this client costs ~0.06 ms. It does only what
the relay needs: POST a bytes body; read the status, the headers and a body of at most
`max_response_bytes` (Content-Length, chunked, or until the server closes); verify TLS
certificates; keep idle connections for reuse. It never follows redirects, never uses a proxy and
asks for no compression.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import urlsplit

# Node's HTTP server (n8n) closes idle connections after 5 s; reusing one at that moment races its
# close, so idle connections are dropped a second earlier.
KEEPALIVE_SECONDS = 4.0
MAX_HEAD_BYTES = 64 * 1024
_READ_SIZE = 64 * 1024


class WebhookHTTPError(Exception):
    """The exchange failed before a complete response arrived."""


class WebhookConnectError(WebhookHTTPError):
    """No connection: the name does not resolve, nothing listens, or the network refused."""


class WebhookTLSError(WebhookConnectError):
    """The TLS handshake failed, e.g. the certificate did not verify."""


class BodyTooLargeError(WebhookHTTPError):
    """The response body exceeds the limit (declared, or seen while reading)."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


class _Origin(NamedTuple):
    scheme: str
    host: str
    port: int


class _Target(NamedTuple):
    origin: _Origin
    host_header: str
    path: str


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0

    def reusable(self, now: float) -> bool:
        return (
            now - self.idle_since < KEEPALIVE_SECONDS
            and not self.writer.is_closing()
            and not self.reader.at_eof()
        )

    def close(self) -> None:
        self.writer.close()


class _StaleConnectionError(Exception):
    """A reused connection closed before any byte of the response arrived."""


class WebhookClient:
    """POSTs with at most `max_connections` requests in flight (later calls wait for a slot) and up
    to `max_connections` idle connections kept, per process."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_response_bytes: int,
        user_agent: str,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_connections = max_connections
        self._max_response_bytes = max_response_bytes
        self._user_agent = user_agent
        self._ssl_context = ssl_context
        self._clock = clock
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._idle_count = 0

    async def post(self, url: str, *, body: bytes, headers: dict[str, str]) -> Response:
        """POST `body` to `url`. Raises `WebhookHTTPError` (or its kinds) when no complete response
        arrives; wrap the call in a timeout, this client sets none of its own."""
        target = _parse_url(url)
        request = self._request(target, body, headers)
        async with self._slots:
            connection = self._take_idle(target.origin)
            if connection is not None:
                # No byte of a response on a kept-alive connection: the server almost surely closed
                # it while idle (a keep-alive race) before reading the request, so the request goes
                # once more on a new connection, as browsers and urllib3 also do.
                with contextlib.suppress(_StaleConnectionError):
                    return await self._exchange(connection, target.origin, request, reused=True)
            connection = await self._connect(target.origin)
            return await self._exchange(connection, target.origin, request, reused=False)

    async def aclose(self) -> None:
        """Close every idle connection."""
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    def _request(self, target: _Target, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [
            f"POST {target.path} HTTP/1.1",
            f"Host: {target.host_header}",
            f"User-Agent: {self._user_agent}",
            "Accept-Encoding: identity",
            f"Content-Length: {len(body)}",
        ]
        for name, value in headers.items():
            if "\r" in value or "\n" in value or "\r" in name or "\n" in name or ":" in name:
                raise ValueError(f"invalid header {name!r}")
            lines.append(f"{name}: {value}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def _take_idle(self, origin: _Origin) -> _Connection | None:
        connections = self._idle.get(origin)
        now = self._clock()
        while connections:
            connection = connections.pop()
            self._idle_count -= 1
            if connection.reusable(now):
                return connection
            connection.close()
        return None

    def _put_idle(self, origin: _Origin, connection: _Connection) -> None:
        if self._idle_count >= self._max_connections:
            # Keep the newest: drop the longest-idle connection of any origin.
            oldest = min((c for cs in self._idle.values() for c in cs), key=lambda c: c.idle_since)
            for connections in self._idle.values():
                if oldest in connections:
                    connections.remove(oldest)
            oldest.close()
            self._idle_count -= 1
        connection.idle_since = self._clock()
        self._idle.setdefault(origin, []).append(connection)
        self._idle_count += 1

    async def _connect(self, origin: _Origin) -> _Connection:
        context = self._tls_context() if origin.scheme == "https" else None
        try:
            reader, writer = await asyncio.open_connection(
                origin.host,
                origin.port,
                ssl=context,
                server_hostname=origin.host if context else None,
                limit=MAX_HEAD_BYTES,
            )
        except ssl.SSLError as exc:
            raise WebhookTLSError(f"TLS handshake failed: {exc}") from exc
        except OSError as exc:
            raise WebhookConnectError(str(exc) or type(exc).__name__) from exc
        return _Connection(reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = default_tls_context()
        return self._ssl_context

    async def _exchange(
        self, connection: _Connection, origin: _Origin, request: bytes, *, reused: bool
    ) -> Response:
        keep = False
        try:
            connection.writer.write(request)
            try:
                await connection.writer.drain()
                status, headers, keep = await _read_head(connection.reader)
            except (OSError, asyncio.IncompleteReadError) as exc:
                nothing_received = not isinstance(exc, asyncio.IncompleteReadError) or not exc.partial
                if reused and nothing_received:
                    raise _StaleConnectionError from exc
                raise WebhookHTTPError(_describe(exc)) from exc
            try:
                body, until_close = await _read_body(
                    connection.reader, status, headers, self._max_response_bytes
                )
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
                keep = False
                raise WebhookHTTPError(_describe(exc)) from exc
            keep = keep and not until_close
            return Response(status, headers, body)
        except BaseException:
            keep = False
            raise
        finally:
            if keep:
                self._put_idle(origin, connection)
            else:
                connection.close()


def default_tls_context() -> ssl.SSLContext:
    """Certificate-verifying TLS with certifi's CA bundle when installed, else the system's."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


@functools.lru_cache(maxsize=1024)
def _parse_url(url: str) -> _Target:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise WebhookConnectError(f"not an http(s) URL: {url[:100]}")
    if parts.username or parts.password:
        raise WebhookConnectError("credentials in the URL are not supported")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
        host = (
            parts.hostname.encode("idna").decode("ascii") if not parts.hostname.isascii() else parts.hostname
        )
    except (ValueError, UnicodeError) as exc:
        raise WebhookConnectError(f"invalid URL: {exc}") from None
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == (443 if scheme == "https" else 80) else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c in path for c in " \r\n\t") or not path.isascii():
        raise WebhookConnectError("the URL's path must be percent-encoded")
    return _Target(_Origin(scheme, host, port), host_header, path)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bool]:
    """The status, headers and whether the connection may be kept, skipping 1xx interim responses."""
    while True:
        try:
            raw = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            raise WebhookHTTPError(f"response head over {MAX_HEAD_BYTES} bytes") from None
        lines = raw[:-4].decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit() or len(code) != 3:
            raise WebhookHTTPError(f"not an HTTP/1.x response: {lines[0][:100]!r}")
        status = int(code)
        if 100 <= status < 200 and status != 101:
            continue
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise WebhookHTTPError(f"malformed response header: {line[:100]!r}")
            name = name.lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        tokens = {t.strip().lower() for t in headers.get("connection", "").split(",")}
        keep = version == "HTTP/1.1" and "close" not in tokens and status != 101
        return status, headers, keep


async def _read_body(
    reader: asyncio.StreamReader, status: int, headers: dict[str, str], limit: int
) -> tuple[bytes, bool]:
    """The body, and whether it ended with the connection (which then cannot be reused)."""
    if status in (204, 304):
        return b"", False
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return await _read_chunked(reader, limit), False
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise WebhookHTTPError(f"invalid Content-Length {declared[:40]!r}")
        if int(declared) > limit:
            raise BodyTooLargeError(f"reply of {declared} bytes exceeds {limit} bytes")
        return await reader.readexactly(int(declared)), False
    received = bytearray()
    while chunk := await reader.read(_READ_SIZE):
        received += chunk
        if len(received) > limit:
            raise BodyTooLargeError(f"reply exceeds {limit} bytes")
    return bytes(received), True


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes:
    received = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise WebhookHTTPError(f"invalid chunk size {line[:40]!r}") from None
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, ignored
                pass
            return bytes(received)
        if len(received) + size > limit:
            raise BodyTooLargeError(f"reply exceeds {limit} bytes")
        chunk = await reader.readexactly(size + 2)
        if not chunk.endswith(b"\r\n"):
            raise WebhookHTTPError("malformed chunked body")
        received += chunk[:-2]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "the server closed the connection before the response was complete"
    if isinstance(exc, asyncio.LimitOverrunError):
        return "a response line is too long"
    return str(exc) or type(exc).__name__
