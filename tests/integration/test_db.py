"""Database access behaves as DESIGN.md says: reused connection, reconnect, timeout, no prepares
(unless a direct connection asks for them, and then only the statements marked `prepare=True`)."""

from __future__ import annotations

import psycopg
import pytest

from shared.db import Conn, Database
from shared.repositories import rate_limits


async def backend_pid(conn: Conn) -> int:
    cur = await conn.execute("SELECT pg_backend_pid() AS pid")
    row = await cur.fetchone()
    assert row is not None
    return int(row["pid"])


@pytest.mark.anyio
async def test_one_connection_is_opened_lazily_and_reused(db: Database) -> None:
    first = await db.run(backend_pid)
    second = await db.run(backend_pid)
    assert first == second


@pytest.mark.anyio
async def test_a_dropped_connection_is_reopened_once(db: Database, db_url: str) -> None:
    # Given a connection that the server has since terminated
    pid = await db.run(backend_pid)
    with psycopg.connect(db_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    # When the next operation runs, then it succeeds on a new connection
    assert await db.run(backend_pid) != pid


@pytest.mark.anyio
async def test_statement_timeout_applies(db_url: str) -> None:
    database = Database(db_url, statement_timeout_ms=200)

    async def slow(conn: Conn) -> None:
        await conn.execute("SELECT pg_sleep(2)")

    try:
        with pytest.raises(psycopg.errors.QueryCanceled):
            await database.run(slow)
    finally:
        await database.close()


@pytest.mark.anyio
async def test_no_server_side_prepared_statements(db: Database) -> None:
    # Supabase's transaction pooler cannot keep prepared statements between transactions.
    assert await db.run(repeat_and_count) == []


async def repeat_and_count(conn: Conn) -> list[str]:
    """Run an unmarked statement and a hot one marked `prepare=True` ten times each; the
    statements the server then holds prepared on this connection."""
    for _ in range(10):
        await conn.execute("SELECT %(x)s::int", {"x": 1})
        await rate_limits.hit(conn, keys=["db-test:prepared"], window_seconds=60)
    cur = await conn.execute("SELECT statement FROM pg_prepared_statements")
    return [str(row["statement"]) for row in await cur.fetchall()]


@pytest.mark.anyio
async def test_a_direct_connection_prepares_only_the_statements_marked_hot(db_url: str) -> None:
    database = Database(db_url, prepared_statements=True)
    try:
        prepared = await database.run(repeat_and_count)
        # The rate-limit upsert once, nothing else (not the unmarked SELECT, however often it ran)
        assert len(prepared) == 1 and "INSERT INTO rate_limits" in prepared[0]
        counts = await database.run(rate_limits.peek, keys=["db-test:prepared"], window_seconds=60)
        assert counts["db-test:prepared"][0] >= 10
    finally:
        await database.close()
