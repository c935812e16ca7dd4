"""PostgreSQL access: lazily opened, reused psycopg connections, safe behind a transaction pooler."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from psycopg.rows import DictRow, dict_row

from shared.observability import logger

Conn = psycopg.AsyncConnection[DictRow]
P = ParamSpec("P")
T = TypeVar("T")


class Database:
    """Connections to one database, opened on first use and kept for the life of the process.

    In Lambda one process serves one request at a time, so `pool_size` 1 means one connection per
    process; the dev runner raises it to serve concurrent requests. Server-side prepared statements
    are off (Supabase's pooler in transaction mode cannot keep them), and every statement runs in
    autocommit unless a caller opens `conn.transaction()`.
    """

    def __init__(self, url: str, *, statement_timeout_ms: int = 5000, pool_size: int = 1) -> None:
        self._url = url
        self._statement_timeout_ms = statement_timeout_ms
        self._pool_size = pool_size
        self._idle: list[Conn] = []
        self._slots: asyncio.Semaphore | None = None

    async def run(
        self, operation: Callable[Concatenate[Conn, P], Awaitable[T]], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run `operation(conn, ...)`; if the connection turns out to be dropped, reconnect and retry once."""
        if self._slots is None:
            self._slots = asyncio.Semaphore(self._pool_size)
        async with self._slots:
            conn = await self._checkout()
            try:
                try:
                    return await operation(conn, *args, **kwargs)
                except psycopg.OperationalError:
                    if not (conn.closed or conn.broken):
                        raise
                    logger.warning("database connection dropped; reconnecting once")
                    await self._discard(conn)
                    conn = await self._connect()
                    return await operation(conn, *args, **kwargs)
            finally:
                await self._checkin(conn)

    async def close(self) -> None:
        """Close every idle connection (the dev runner and tests call this on shutdown)."""
        while self._idle:
            await self._idle.pop().close()

    async def _checkout(self) -> Conn:
        while self._idle:
            conn = self._idle.pop()
            if not (conn.closed or conn.broken):
                return conn
        return await self._connect()

    async def _checkin(self, conn: Conn) -> None:
        idle_outside_transaction = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        if conn.closed or conn.broken or not idle_outside_transaction:
            await self._discard(conn)
        else:
            self._idle.append(conn)

    @staticmethod
    async def _discard(conn: Conn) -> None:
        with contextlib.suppress(psycopg.Error):
            await conn.close()

    async def _connect(self) -> Conn:
        options: dict[str, Any] = {}
        if self._statement_timeout_ms:
            options["options"] = f"-c statement_timeout={self._statement_timeout_ms}"
        return await psycopg.AsyncConnection.connect(
            self._url, autocommit=True, prepare_threshold=None, row_factory=dict_row, **options
        )
