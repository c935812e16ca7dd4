"""Fixed-window rate-limit counters in the UNLOGGED `rate_limits` table.

A row only matters during its window: once the window has ended the row is dead (the next hit on
its key starts a new window anyway), so dead rows are deleted in small batches by
`delete_expired`, and the table holds about one minute of traffic's keys, never more.
"""

from __future__ import annotations

from psycopg.rows import tuple_row

from shared.db import Conn


async def hit(conn: Conn, *, keys: list[str], window_seconds: int) -> dict[str, tuple[int, float]]:
    """Count one hit on every key in the current window, in one upsert.

    Returns, per key, the count so far in this window and the seconds until the window ends.
    Rows come back as tuples: every public request runs this, and dict rows cost more (~0.06 ms
    here, docs/benchmarks.md "Relay overhead").
    """
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute(
        "INSERT INTO rate_limits AS r (key, window_start, count, window_seconds) "
        "SELECT k, to_timestamp(floor(extract(epoch FROM now()) / %(w)s) * %(w)s), 1, %(w)s "
        "FROM unnest(%(keys)s::text[]) AS k "
        "ON CONFLICT (key) DO UPDATE SET "
        "  count = CASE WHEN r.window_start = EXCLUDED.window_start THEN r.count + 1 ELSE 1 END, "
        "  window_start = EXCLUDED.window_start, window_seconds = EXCLUDED.window_seconds "
        "RETURNING key, count, "
        "  extract(epoch FROM window_start + make_interval(secs => %(w)s) - now())::float AS remaining",
        {"keys": keys, "w": window_seconds},
        prepare=True,  # every public request runs it (prepared where the Database allows it)
    )
    return {key: (int(count), float(remaining)) for key, count, remaining in await cur.fetchall()}


async def peek(conn: Conn, *, keys: list[str], window_seconds: int) -> dict[str, tuple[int, float]]:
    """Like `hit`, without counting: per key that has hits in the current window, the count and the
    seconds until the window ends."""
    cur = await conn.execute(
        "SELECT key, count, "
        "  extract(epoch FROM window_start + make_interval(secs => %(w)s) - now())::float AS remaining "
        "FROM rate_limits WHERE key = ANY(%(keys)s::text[]) "
        "  AND window_start = to_timestamp(floor(extract(epoch FROM now()) / %(w)s) * %(w)s)",
        {"keys": keys, "w": window_seconds},
    )
    return {row["key"]: (int(row["count"]), float(row["remaining"])) for row in await cur.fetchall()}


async def delete_expired(conn: Conn, *, limit: int) -> int:
    """Delete up to `limit` counters whose window has ended; returns how many were deleted.

    Rows another transaction holds (a hit on that key right now) are skipped, never waited for.
    """
    cur = await conn.execute(
        "DELETE FROM rate_limits WHERE ctid = ANY(ARRAY("
        "  SELECT ctid FROM rate_limits"
        "  WHERE window_start + make_interval(secs => window_seconds) < now()"
        "  LIMIT %(limit)s FOR UPDATE SKIP LOCKED))",
        {"limit": limit},
    )
    return cur.rowcount
