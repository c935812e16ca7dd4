"""PostgreSQL access: lazily opened, reused psycopg connections, safe behind a transaction pooler,
and bounded on the client side so a stalled or restarting server costs a request seconds, not minutes.

`statement_timeout` runs on the server, so a stalled server (or network) never enforces it. Every
operation here is therefore bounded on the client too: connecting (`connect_timeout` and an
asyncio bound), waiting for a pooled connection, and the operation itself. When an operation
overruns, its connection's socket is shut down, which ends psycopg's wait at once; the connection
is dropped, never reused. (Cancelling the coroutine instead would make psycopg send a cancel
request and wait for the stalled server to answer it, up to 10 s more.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg.rows import DictRow, dict_row

from shared.errors import DatabaseUnavailableError
from shared.observability import logger

Conn = psycopg.AsyncConnection[DictRow]
P = ParamSpec("P")
T = TypeVar("T")
# After a failed operation, durable writes wait this long before trying again (then longer).
_RETRY_DELAYS = (0.1, 0.25, 0.5, 1.0)
# A prepare threshold no statement reaches: only statements executed with `prepare=True` are prepared.
_ONLY_WHEN_ASKED = 2**31 - 1


class Database:
    """Connections to one database, opened on first use and kept for the life of the process.

    In Lambda one process serves one request at a time, so `pool_size` 1 means one connection per
    process; the dev runner raises it to serve concurrent requests. Every statement runs in
    autocommit unless a caller opens `conn.transaction()`.

    Server-side prepared statements are off by default (Supabase's pooler in transaction mode cannot
    keep them). With `prepared_statements` (a direct connection, like the dev runner's), the
    statements a repository marks `prepare=True` (the hot ones of a relayed message) are prepared
    once per connection, so the server parses and plans them once instead of on every message;
    nothing else is ever prepared. Without it `prepare=True` does nothing.

    Each `run` takes at most `operation_timeout` seconds in all (waiting for a connection slot,
    connecting, running), then raises `DatabaseUnavailableError` (503).
    """

    def __init__(
        self,
        url: str,
        *,
        statement_timeout_ms: int = 5000,
        pool_size: int = 1,
        operation_timeout: float = 3.0,
        prepared_statements: bool = False,
    ) -> None:
        self._url = url
        # psycopg prepares a statement after this many executions, or at once with `prepare=True`;
        # None turns preparing off, `prepare=True` included.
        self._prepare_threshold = _ONLY_WHEN_ASKED if prepared_statements else None
        self._statement_timeout_ms = statement_timeout_ms
        self._pool_size = pool_size
        self._operation_timeout = operation_timeout
        self._idle: list[Conn] = []
        self._slots: asyncio.Semaphore | None = None

    async def run(
        self, operation: Callable[Concatenate[Conn, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `operation(conn, ...)` within the operation timeout; a dropped connection is replaced
        and the operation tried once more. Raises `DatabaseUnavailableError` when the database
        cannot be reached or does not answer in time."""
        deadline = time.monotonic() + self._operation_timeout
        try:
            return await self._run(deadline, operation, *args, **kwargs)
        except psycopg.errors.QueryCanceled:
            raise  # the server answered: statement_timeout (a query to fix, not an outage)
        except psycopg.OperationalError as exc:
            raise DatabaseUnavailableError(_describe(exc)) from exc

    async def run_durable(
        self,
        budget_seconds: float,
        operation: Callable[Concatenate[Conn, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Like `run`, but keep trying for up to `budget_seconds` while the database is unreachable
        (a restart, a failover): for writes that must not be lost. The operation must be safe to
        repeat (an insert with a fixed id and ON CONFLICT DO NOTHING, say): an attempt whose answer
        was lost may have been committed."""
        give_up = time.monotonic() + budget_seconds
        for attempt in range(1_000):
            try:
                deadline = min(give_up, time.monotonic() + self._operation_timeout)
                return await self._run(deadline, operation, *args, **kwargs)
            except (psycopg.OperationalError, DatabaseUnavailableError) as exc:
                delay = _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]
                if time.monotonic() + delay >= give_up:
                    if isinstance(exc, DatabaseUnavailableError):
                        raise
                    raise DatabaseUnavailableError(_describe(exc)) from exc
                logger.warning("database write failed; trying again", extra={"error": _describe(exc)})
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def clone(self) -> Database:
        """Another Database on the same server with the same bounds and one connection of its own
        (the rollup's backfill computes two days at once)."""
        return Database(
            self._url,
            statement_timeout_ms=self._statement_timeout_ms,
            operation_timeout=self._operation_timeout,
            prepared_statements=self._prepare_threshold is not None,
        )

    async def close(self) -> None:
        """Close every idle connection (the dev runner and tests call this on shutdown)."""
        while self._idle:
            await self._discard(self._idle.pop())

    async def _run(
        self,
        deadline: float,
        operation: Callable[Concatenate[Conn, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._pool_size)
        if self._slots.locked():  # a free slot is taken without suspending: no timer to arm
            try:
                async with asyncio.timeout(_remaining(deadline)):
                    await self._slots.acquire()
            except TimeoutError:
                raise DatabaseUnavailableError("no database connection became free in time") from None
        else:
            await self._slots.acquire()
        try:
            conn = await self._checkout(deadline)
            try:
                try:
                    return await self._bounded(conn, deadline, operation(conn, *args, **kwargs))
                except psycopg.OperationalError:
                    if not (conn.closed or conn.broken):
                        raise
                    # A connection kept from before a server restart: all its idle siblings are
                    # dead too. Drop them and try once on a new connection.
                    logger.warning("database connection dropped; reconnecting once")
                    await self._discard(conn)
                    await self.close()
                    conn = await self._connect(deadline)
                    return await self._bounded(conn, deadline, operation(conn, *args, **kwargs))
            finally:
                await self._checkin(conn)
        finally:
            self._slots.release()

    async def _bounded(self, conn: Conn, deadline: float, work: Awaitable[T]) -> T:
        """Await `work` on `conn` until `deadline`; past it, kill the connection and raise.

        A timer shuts the socket down at the deadline, which ends psycopg's wait with an
        OperationalError; the work is awaited directly, never cancelled (no task per operation).
        """
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            _shut_down(conn)

        timer = asyncio.get_running_loop().call_later(_remaining(deadline), expire)
        try:
            return await work
        except (psycopg.Error, OSError):
            if expired:
                raise DatabaseUnavailableError("the database did not answer in time") from None
            raise
        finally:
            timer.cancel()

    async def _checkout(self, deadline: float) -> Conn:
        while self._idle:
            conn = self._idle.pop()
            if not (conn.closed or conn.broken):
                return conn
        return await self._connect(deadline)

    async def _checkin(self, conn: Conn) -> None:
        idle_outside_transaction = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if conn.closed or conn.broken or not idle_outside_transaction:
            await self._discard(conn)
        else:
            self._idle.append(conn)

    @staticmethod
    async def _discard(conn: Conn) -> None:
        with contextlib.suppress(psycopg.Error, OSError):
            await conn.close()

    async def _connect(self, deadline: float) -> Conn:
        remaining = _remaining(deadline)
        options: dict[str, Any] = {
            # libpq's own bound (whole seconds, at least 2), and TCP keepalives so a connection to a
            # vanished server is noticed (ignored on Unix sockets).
            "connect_timeout": max(2, int(remaining + 0.999)),
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 2,
        }
        # Sessions in UTC whatever the server's default (the embedded one says `Etc/UTC`, the same
        # zone under a name): psycopg then returns times as `datetime.timezone.utc`, where a named
        # zone costs a zoneinfo conversion per value (~100 per admin list page). Every time is UTC
        # either way; SQL that needs a local day names its zone (`AT TIME ZONE`).
        settings = ["-c TimeZone=UTC"]
        if self._statement_timeout_ms:
            settings.append(f"-c statement_timeout={self._statement_timeout_ms}")
        options["options"] = " ".join(settings)
        try:
            async with asyncio.timeout(remaining):
                return await psycopg.AsyncConnection.connect(
                    self._url,
                    autocommit=True,
                    prepare_threshold=self._prepare_threshold,
                    row_factory=dict_row,
                    **options,
                )
        except TimeoutError:
            raise DatabaseUnavailableError("could not connect to the database in time") from None


def _remaining(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _shut_down(conn: Conn) -> None:
    """End the connection's socket at once, without a word to the server."""
    with contextlib.suppress(OSError, psycopg.Error, ValueError):
        fd = conn.pgconn.socket
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)


def _describe(exc: BaseException) -> str:
    """A one-line reason without connection details (the URL may carry the password)."""
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return f"{type(exc).__name__}: {first[:200]}"
