"""The relay's HTTP/1.1 client: POSTs to webhooks over kept-alive asyncio connections.

The relay used httpx, and httpx + httpcore + anyio cost ~0.75 ms of CPU per call, a third of all
the CPU a relayed message took (docs/benchmarks.md). This client does only what the relay needs, on
a small `asyncio.Protocol` per connection, and leaves every byte of HTTP parsing to **h11**
(sans-IO): it POSTs a bytes body and reads the status, the headers and a body of at most
`max_response_bytes` (checked while reading; a larger declared Content-Length is refused at once).
It verifies TLS certificates, never follows redirects, never uses a proxy and asks for no
compression.

Isolation (DESIGN.md "Backend ↔ n8n"): a webhook can write bytes nobody asked for (a second
response, a 204 carrying a body, a late unsolicited response). A connection therefore goes back to
the pool only when h11 says the exchange ended cleanly and the connection may be kept, and nothing
more is buffered or readable; bytes that arrive while it idles close it at once; and it is checked
again when taken. A kept-alive connection serves one `pool_key` only (the relay passes the widget
id), so whatever a webhook does, its bytes never reach another widget's call. (Within one key, a
response the server sends late, after the next request went out, cannot be told from the answer:
that is HTTP/1.1; it stays with the same widget's own webhook.)

Fairness: calls in flight are capped per process (`max_connections`) and per origin
(`max_connections_per_origin`), so one hung webhook cannot take every slot. Waiting for a slot is
bounded (`slot_wait_seconds`, then `WebhookBusyError`); the call's own timeout starts once it holds
a slot.

Address policy: every new connection checks the URL with the `WebhookPolicy`, resolves the host
itself and connects only to addresses the policy allows (DNS rebinding cannot reach metadata or
private ranges).

Every exception inside a call leaves as one of the `WebhookHTTPError` kinds, and no message carries
the URL's credentials or query string.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import select
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple, cast
from urllib.parse import urlsplit

import h11

from shared.webhook_url import BlockedWebhookError, WebhookPolicy, literal_address, redact_url

# Node's HTTP server (n8n) closes idle connections after 5 s; reusing one at that moment races its
# close, so idle connections are dropped a second earlier.
KEEPALIVE_SECONDS = 4.0
MAX_HEAD_BYTES = 64 * 1024
DEFAULT_MAX_CONNECTIONS_PER_ORIGIN = 20
DEFAULT_SLOT_WAIT_SECONDS = 5.0
_READ_HIGH_WATER = 256 * 1024  # pause reading when this much is buffered and not yet parsed
_MESSAGE_LIMIT = 300


class WebhookHTTPError(Exception):
    """The exchange failed before a complete, well-formed response arrived (on its own: the reply
    was malformed)."""


class WebhookConnectError(WebhookHTTPError):
    """No connection: the name does not resolve, nothing listens, or the network refused."""


class WebhookTLSError(WebhookConnectError):
    """The TLS handshake failed, e.g. the certificate did not verify."""


class WebhookBlockedError(WebhookHTTPError):
    """The URL, or every address its host resolves to, is refused by the webhook URL policy."""


class WebhookBusyError(WebhookHTTPError):
    """No slot became free within the slot wait: too many calls in flight (to this origin)."""


class WebhookTimeoutError(WebhookHTTPError, TimeoutError):
    """No complete response within the call's timeout (counted once the call held a slot)."""


class BodyTooLargeError(WebhookHTTPError):
    """The response body exceeds the limit (declared, or seen while reading)."""


class WebhookRequestError(WebhookHTTPError, ValueError):
    """The caller's request cannot be sent as given (e.g. a header with CR or LF)."""


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes


class _Origin(NamedTuple):
    scheme: str
    host: str  # ASCII (IDNA), without brackets
    port: int


class _Target(NamedTuple):
    origin: _Origin
    host_header: bytes
    path: bytes


_END = h11.EndOfMessage()
_Headers = list[tuple[bytes, bytes]]
_POST = b"POST"
_ACCEPT_ENCODING = (b"Accept-Encoding", b"identity")


class _Connection(asyncio.Protocol):
    """One connection: buffers what arrives itself, so the client always knows whether anything is
    pending, and closes itself on any byte or EOF that arrives while it idles in the pool."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.idle = False
        self.idle_since = 0.0
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._fd = -1
        self._buffer = bytearray()
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._write_paused = False
        self._read_paused = False

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have the same methods
        self._transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        try:
            self._fd = sock.fileno() if sock is not None else -1
        except (OSError, AttributeError, ValueError):
            self._fd = -1

    def data_received(self, data: bytes) -> None:
        if self.idle:
            # Bytes nobody asked for (a second or late response): never hand them to a later call.
            self._eof = True
            self.abort()
            return
        self._buffer += data
        if len(self._buffer) > _READ_HIGH_WATER and not self._read_paused and self._transport:
            self._read_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._error = exc
        self._wake()
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    # Used by the client

    async def write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing() or self._eof:
            raise ConnectionResetError("the connection is closed")
        transport.write(data)
        if self._write_paused:
            self._drain = self._loop.create_future()
            await self._drain
            if self._eof:
                raise ConnectionResetError("the connection closed while sending the request")

    async def read(self) -> bytes:
        """The bytes received since the last read; b"" once the peer closed."""
        if not self._buffer and not self._eof:
            self._waiter = self._loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        if self._buffer:
            data = bytes(self._buffer)
            self._buffer.clear()
            if self._read_paused and self._transport is not None and not self._eof:
                self._read_paused = False
                self._transport.resume_reading()
            return data
        if self._error is not None:
            raise self._error
        return b""

    def quiet(self) -> bool:
        """Open, nothing buffered here, nothing received and not yet delivered."""
        transport = self._transport
        if self._eof or self._buffer or transport is None or transport.is_closing():
            return False
        if self._fd < 0:
            return True
        poller = select.poll()
        try:
            poller.register(self._fd, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False

    @property
    def at_eof(self) -> bool:
        return self._eof

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def abort(self) -> None:
        self._eof = True
        if self._transport is not None:
            self._transport.abort()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


class _StaleConnectionError(Exception):
    """A reused connection closed before any byte of the response arrived."""


class _OriginSlots:
    __slots__ = ("semaphore", "users")

    def __init__(self, size: int) -> None:
        self.semaphore = asyncio.Semaphore(size)
        self.users = 0


_PoolKey = tuple[str, _Origin]


class WebhookClient:
    """POSTs with at most `max_connections` calls in flight per process and at most
    `max_connections_per_origin` per origin (later calls wait up to `slot_wait_seconds` for a slot),
    keeping up to `max_connections` idle connections, each for one pool key."""

    def __init__(
        self,
        *,
        max_connections: int,
        max_response_bytes: int,
        user_agent: str,
        policy: WebhookPolicy,
        max_connections_per_origin: int = DEFAULT_MAX_CONNECTIONS_PER_ORIGIN,
        slot_wait_seconds: float = DEFAULT_SLOT_WAIT_SECONDS,
        ssl_context: ssl.SSLContext | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_connections = max_connections
        self._per_origin = max(1, min(max_connections_per_origin, max_connections))
        self._max_response_bytes = max_response_bytes
        self._user_agent = (b"User-Agent", user_agent.encode("ascii"))
        self._policy = policy
        self._slot_wait_seconds = slot_wait_seconds
        self._ssl_context = ssl_context
        self._clock = clock
        self._slots = asyncio.Semaphore(max_connections)
        self._origin_slots: dict[_Origin, _OriginSlots] = {}
        self._idle: dict[_PoolKey, list[_Connection]] = {}
        self._idle_order: dict[_Connection, _PoolKey] = {}  # oldest first

    async def post(
        self,
        url: str,
        *,
        body: bytes,
        headers: dict[str, str],
        timeout_seconds: float,
        pool_key: str,
        slot_wait_seconds: float | None = None,
    ) -> Response:
        """POST `body` to `url`, on a connection only calls with the same `pool_key` share.

        Waits at most `slot_wait_seconds` (default: the client's) for a slot, then raises
        `WebhookBusyError`; once it holds one, the call has `timeout_seconds` for the complete
        response, then raises `WebhookTimeoutError`. Every failure is a `WebhookHTTPError` kind.
        """
        try:
            target = _parse_url(url)
            request = self._request(target, body, headers)
        except WebhookHTTPError:
            raise
        except Exception as exc:
            raise WebhookRequestError(f"cannot send to {redact_url(url)}: {_describe(exc)}") from None
        origin = target.origin
        await self._acquire(
            origin, url, self._slot_wait_seconds if slot_wait_seconds is None else slot_wait_seconds
        )
        try:
            deadline = asyncio.timeout(timeout_seconds)
            try:
                async with deadline:
                    return await self._call(url, target, request, body, (pool_key, origin))
            except WebhookHTTPError:
                raise
            except TimeoutError as exc:
                if deadline.expired():
                    raise WebhookTimeoutError(
                        f"no reply from {redact_url(url)} within {timeout_seconds:g} s"
                    ) from None
                raise _translate(exc, url) from exc
            except Exception as exc:
                raise _translate(exc, url) from exc
        finally:
            self._release(origin)

    async def aclose(self) -> None:
        """Close every idle connection."""
        for connection in self._idle_order:
            connection.close()
        self._idle.clear()
        self._idle_order.clear()

    # Slots

    async def _acquire(self, origin: _Origin, url: str, wait: float) -> None:
        slots = self._origin_slots.get(origin)
        if slots is None:
            slots = self._origin_slots[origin] = _OriginSlots(self._per_origin)
        slots.users += 1
        try:
            if not slots.semaphore.locked() and not self._slots.locked():
                await slots.semaphore.acquire()  # both free: neither suspends
                await self._slots.acquire()
                return
            try:
                async with asyncio.timeout(wait):
                    await slots.semaphore.acquire()
                    try:
                        await self._slots.acquire()
                    except BaseException:
                        slots.semaphore.release()
                        raise
            except TimeoutError:
                raise WebhookBusyError(
                    f"too many calls in flight (to {redact_url(url)}, or in all): no slot within {wait:g} s"
                ) from None
        except BaseException:
            self._forget(origin, slots)
            raise

    def _release(self, origin: _Origin) -> None:
        self._slots.release()
        slots = self._origin_slots[origin]
        slots.semaphore.release()
        self._forget(origin, slots)

    def _forget(self, origin: _Origin, slots: _OriginSlots) -> None:
        slots.users -= 1
        if slots.users == 0:
            del self._origin_slots[origin]

    # The call

    def _request(self, target: _Target, body: bytes, headers: dict[str, str]) -> h11.Request:
        items: list[tuple[object, object]] = [
            (b"Host", target.host_header),
            self._user_agent,
            _ACCEPT_ENCODING,
            (b"Content-Length", str(len(body)).encode()),
        ]
        items.extend(headers.items())
        try:
            return h11.Request(method=_POST, target=target.path, headers=cast(_Headers, items))
        except (h11.LocalProtocolError, UnicodeError, TypeError):
            raise WebhookRequestError(_invalid_header(headers)) from None

    async def _call(
        self, url: str, target: _Target, request: h11.Request, body: bytes, key: _PoolKey
    ) -> Response:
        connection = self._take_idle(key)
        if connection is not None:
            # No byte of a response on a kept-alive connection: the server almost surely closed
            # it while idle (a keep-alive race) before reading the request, so the request goes
            # once more on a new connection, as browsers and urllib3 also do.
            try:
                return await self._exchange(connection, request, body, key, reused=True)
            except _StaleConnectionError:
                pass
        connection = await self._connect(url, target.origin)
        return await self._exchange(connection, request, body, key, reused=False)

    async def _exchange(
        self, connection: _Connection, request: h11.Request, body: bytes, key: _PoolKey, *, reused: bool
    ) -> Response:
        keep = False
        try:
            protocol = connection.h11
            data = protocol.send(request)
            if body:
                data += protocol.send(h11.Data(data=body))
            data += protocol.send(_END)
            received = False
            try:
                await connection.write(data)
            except OSError:
                if reused:
                    raise _StaleConnectionError from None
                raise
            limit = self._max_response_bytes
            status = 0
            headers: dict[str, str] = {}
            content = bytearray()
            while True:
                event = protocol.next_event()
                if event is h11.NEED_DATA:
                    try:
                        chunk = await connection.read()
                    except OSError:
                        if reused and not received:
                            raise _StaleConnectionError from None
                        raise
                    if chunk:
                        received = True
                    elif not received:
                        if reused:
                            raise _StaleConnectionError
                        raise WebhookConnectError("the server closed the connection without answering")
                    protocol.receive_data(chunk)
                    continue
                if isinstance(event, h11.Data):
                    content += event.data
                    if len(content) > limit:
                        raise BodyTooLargeError(f"reply exceeds {limit} bytes")
                elif isinstance(event, h11.Response):
                    status, headers = _head(event, limit)
                elif isinstance(event, h11.EndOfMessage):
                    keep = (
                        protocol.our_state is h11.DONE
                        and protocol.their_state is h11.DONE
                        and protocol.trailing_data == (b"", False)
                        and connection.quiet()
                    )
                    return Response(status, headers, bytes(content))
                elif not isinstance(event, h11.InformationalResponse):  # 1xx are skipped
                    # ConnectionClosed (or PAUSED): the response ended before it was complete.
                    raise WebhookHTTPError(
                        "the server closed the connection before the response was complete"
                    )
        except h11.RemoteProtocolError as exc:
            if connection.at_eof:
                raise WebhookHTTPError(
                    "the server closed the connection before the response was complete"
                ) from None
            raise WebhookHTTPError(f"invalid HTTP response: {_describe(exc)}") from None
        finally:
            if keep:
                connection.h11.start_next_cycle()
                self._put_idle(key, connection)
            else:
                connection.abort()

    # The pool

    def _take_idle(self, key: _PoolKey) -> _Connection | None:
        connections = self._idle.get(key)
        if connections is None:
            return None
        now = self._clock()
        found = None
        while connections:
            connection = connections.pop()
            del self._idle_order[connection]
            if now - connection.idle_since < KEEPALIVE_SECONDS and connection.quiet():
                connection.idle = False
                found = connection
                break
            connection.close()
        if not connections:
            del self._idle[key]
        return found

    def _put_idle(self, key: _PoolKey, connection: _Connection) -> None:
        if len(self._idle_order) >= self._max_connections:
            # Keep the newest: drop the longest-idle connection of any key.
            oldest, oldest_key = next(iter(self._idle_order.items()))
            del self._idle_order[oldest]
            others = self._idle[oldest_key]
            others.remove(oldest)
            if not others:
                del self._idle[oldest_key]
            oldest.close()
        connection.idle = True
        connection.idle_since = self._clock()
        self._idle.setdefault(key, []).append(connection)
        self._idle_order[connection] = key

    # Connecting

    async def _connect(self, url: str, origin: _Origin) -> _Connection:
        try:
            self._policy.check_url(url)
        except BlockedWebhookError as exc:
            raise WebhookBlockedError(f"{redact_url(url)} is not allowed: {exc}") from None
        loop = asyncio.get_running_loop()
        literal = literal_address(origin.host)
        try:
            infos = (
                [
                    (
                        socket.AF_INET6 if literal.version == 6 else socket.AF_INET,
                        0,
                        0,
                        "",
                        (origin.host, origin.port),
                    )
                ]
                if literal is not None  # no trip to the resolver's thread for an address
                else await loop.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
            )
        except (OSError, UnicodeError) as exc:
            raise WebhookConnectError(f"cannot resolve {origin.host}: {_describe(exc)}") from None
        context = self._tls_context() if origin.scheme == "https" else None
        refused: list[str] = []
        failure: BaseException | None = None
        tried: set[str] = set()
        for family, _, _, _, sockaddr in infos:
            host = str(sockaddr[0])
            if host in tried:
                continue
            tried.add(host)
            try:
                self._policy.check_address(ipaddress.ip_address(host))
            except (BlockedWebhookError, ValueError) as exc:
                refused.append(str(exc))
                continue
            try:
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop),
                    host,
                    origin.port,
                    family=family,
                    ssl=context,
                    server_hostname=origin.host if context is not None else None,
                )
            except ssl.SSLError as exc:
                raise WebhookTLSError(f"TLS handshake with {origin.host} failed: {_describe(exc)}") from None
            except OSError as exc:
                failure = exc
                continue
            return connection
        if failure is not None:
            raise WebhookConnectError(f"cannot connect to {redact_url(url)}: {_describe(failure)}")
        if refused:
            reasons = "; ".join(dict.fromkeys(refused))
            raise WebhookBlockedError(f"{redact_url(url)} resolves only to refused addresses: {reasons}")
        raise WebhookConnectError(f"{origin.host} resolves to no address")

    def _tls_context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = default_tls_context()
        return self._ssl_context


def default_tls_context() -> ssl.SSLContext:
    """Certificate-verifying TLS with certifi's CA bundle when installed, else the system's."""
    try:
        import certifi
    except ImportError:
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


@functools.lru_cache(maxsize=1024)
def _parse_url(url: str) -> _Target:
    shown_url = redact_url(url)
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise WebhookConnectError(f"not an http(s) URL: {shown_url}")
        if parts.username is not None or parts.password is not None:
            raise WebhookConnectError("credentials in the URL are not supported")
        default_port = 443 if scheme == "https" else 80
        port = parts.port or default_port
        host = parts.hostname if parts.hostname.isascii() else parts.hostname.encode("idna").decode("ascii")
    except (ValueError, UnicodeError):
        raise WebhookConnectError(f"invalid URL: {shown_url}") from None
    shown = f"[{host}]" if ":" in host else host
    host_header = shown if port == default_port else f"{shown}:{port}"
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if any(c in path for c in " \r\n\t") or not path.isascii() or not host_header.isascii():
        raise WebhookConnectError("the URL's path must be percent-encoded")
    return _Target(_Origin(scheme, host, port), host_header.encode("ascii"), path.encode("ascii"))


def _head(event: h11.Response, limit: int) -> tuple[int, dict[str, str]]:
    """The status and the headers (lower-case names, repeats joined) of a final response."""
    headers: dict[str, str] = {}
    for raw_name, raw_value in event.headers:
        name = raw_name.decode("latin-1")
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    declared = headers.get("content-length")
    # h11 has checked it is ASCII digits (and that repeats agree); 204/304 carry no body.
    if declared is not None and event.status_code not in (204, 304):
        digits = declared.lstrip("0")
        size = int(digits or "0") if len(digits) <= 20 else limit + 1
        if size > limit:
            raise BodyTooLargeError(f"reply of {declared[:24]} bytes exceeds {limit} bytes")
    return event.status_code, headers


def _invalid_header(headers: dict[str, str]) -> str:
    for name, value in headers.items():
        try:
            h11.Request(method=_POST, target=b"/", headers=[("Host", "x"), (name, value)])
        except (h11.LocalProtocolError, UnicodeError, TypeError):
            return f"invalid header {name[:60]!r}"
    return "invalid request (URL host or path)"


def _translate(exc: BaseException, url: str) -> WebhookHTTPError:
    """Any other exception of a call as the `WebhookHTTPError` kind it amounts to."""
    if isinstance(exc, ssl.SSLError):
        return WebhookTLSError(f"TLS with {redact_url(url)} failed: {_describe(exc)}")
    if isinstance(exc, OSError):
        return WebhookConnectError(f"the connection to {redact_url(url)} failed: {_describe(exc)}")
    return WebhookHTTPError(f"invalid response from {redact_url(url)}: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return (f"{type(exc).__name__}: {text}" if text else type(exc).__name__)[:_MESSAGE_LIMIT]
