"""Database access behaves as DESIGN.md says: reused connection, reconnect, timeout, no prepares."""

from __future__ import annotations

import psycopg
import pytest

from shared.db import Conn, Database


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
    async def repeat_and_count(conn: Conn) -> int:
        for _ in range(10):
            await conn.execute("SELECT %(x)s::int", {"x": 1})
        cur = await conn.execute("SELECT count(*) AS n FROM pg_prepared_statements")
        row = await cur.fetchone()
        assert row is not None
        return int(row["n"])

    assert await db.run(repeat_and_count) == 0
