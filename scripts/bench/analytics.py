"""Analytics bench (docs/benchmarks.md "Analytics"): chat logs of 50 widgets over 180 days at each
size, the full backfill, the 15-minute rollup, then a 90-day widget read through the API against the
same numbers computed by one aggregate query straight over chat_logs, in the same run.

    python -m scripts.bench.analytics                       # 500,000 and 5,000,000 rows
    python -m scripts.bench.analytics --rows 500000 --check
    python -m scripts.bench.analytics --rows 5000000 --keep     # leave the database for the next run
    python -m scripts.bench.analytics --rows 5000000 --reuse    # reuse a kept one: no regeneration

--keep leaves database cwp_bench_analytics_<rows> on the bench server; --reuse (implies --keep)
migrates and reuses it when it holds the bench's widgets and exactly <rows> logs (generated earlier
today, so "today" and the 90-day range still fall on its data; an earlier run's traffic logs and
everything the rollup wrote are deleted first), else generates it afresh. A reused run redoes the
backfill from nothing, the rollups and the reads on the same rows; its generate s reads 0.

The 15-minute rollup is timed as it runs in production: before each of its three runs, fifteen
minutes' worth of new logs (at the size's average rate) are written a few minutes before it, so
today has changed and is recomputed, while yesterday, unchanged since the backfill, is not.

Generation: INSERT ... SELECT generate_series per 500,000 rows into an unindexed staging table, then
one INSERT into chat_logs in created_at order (the order the platform writes logs in, so a day's logs
sit together on disk as in production) with chat_logs' secondary indexes dropped and rebuilt after,
then VACUUM ANALYZE (what autovacuum would have done to logs this old). Not part of `make test`:
tests/integration/test_rollup.py runs `check_size` at 50,000 rows for correctness only.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import psycopg
from psycopg import sql

from scripts.bench.harness import BENCH_SERVER_DIR, bench_database, bench_parser, verdict

WIDGETS = 50
DAYS = 180
READ_DAYS = 90
CHUNK = 500_000
TARGET_READ_MS = 15.0
TARGET_SPEEDUP = 50.0
TARGET_GROWTH = 1.2
TARGET_ROLLUP_S = 1.0
TARGET_BACKFILL_S = 60.0

# Rows i of a chunk: sessions of 4 messages a few minutes apart, spread over 180 days; 200
# questions in 4 wordings; 3 % failed; 10 % thumbs-up, 5 % down; response times 100 ms - 3.1 s.
_COLUMNS = (
    "widget_id, user_id, message, response, confidence, feedback, status, response_time_ms, topic, created_at"
)
_STAGE = f"CREATE UNLOGGED TABLE bench_chat_logs AS SELECT {_COLUMNS} FROM chat_logs LIMIT 0"
_GENERATE = """
INSERT INTO bench_chat_logs
SELECT w.ids[1 + (s %% %(widgets)s)],
       's' || s,
       (ARRAY['How do I ', 'how do i ', 'How do I  the ', 'HOW DO I '])[1 + (i %% 4)]
           || 'question ' || floor(power(((s * 7 + i) * 2654435761 %% 1000) / 1000.0, 3) * 200)::int || (ARRAY['?', '', '??', ' please'])[1 + (s %% 4)],
       'Answer ' || (i %% 97),
       CASE WHEN i %% 33 = 0 THEN NULL ELSE ((i * 7919) %% 1000) / 1000.0 END,
       CASE WHEN i %% 20 = 0 THEN 'up' WHEN i %% 20 = 1 THEN 'down' END,
       CASE WHEN i %% 33 = 0 THEN 'failed' ELSE 'answered' END,
       100 + ((i * 104729) %% 1000) * ((i * 31) %% 1000) * 3 / 1000,
       'topic ' || (s %% 15),
       %(end)s::timestamptz - (((s * 2654435761) %% (%(days)s * 86400)) || ' seconds')::interval
           + ((i %% 4) * 3 || ' minutes')::interval
FROM generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS i,
     LATERAL (SELECT i / 4 AS s) AS sess,
     (SELECT array_agg(id ORDER BY id) AS ids FROM widgets) AS w
"""

# The figures of a widget's range straight from chat_logs, in one aggregate query.
_DIRECT = """
WITH logs AS (
    SELECT * FROM chat_logs WHERE widget_id = %(widget)s AND created_at >= %(lo)s AND created_at < %(hi)s
), firsts AS (
    SELECT user_id FROM logs GROUP BY user_id
    HAVING NOT EXISTS (SELECT 1 FROM chat_logs p WHERE p.widget_id = %(widget)s AND p.user_id = logs.user_id
                       AND p.created_at < %(lo)s)
), questions AS (
    SELECT {key} AS q, count(*) AS n FROM logs GROUP BY 1 ORDER BY 2 DESC LIMIT 10
)
SELECT count(*) FILTER (WHERE status = 'answered') AS chats,
       (SELECT count(*) FROM firsts) AS conversations,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       avg(confidence) AS avg_confidence,
       count(*) FILTER (WHERE feedback = 'up') AS positive_feedback,
       count(*) FILTER (WHERE feedback = 'down') AS negative_feedback,
       avg(response_time_ms) FILTER (WHERE status = 'answered') AS avg_response_time_ms,
       percentile_disc(0.95) WITHIN GROUP (ORDER BY response_time_ms)
           FILTER (WHERE status = 'answered') AS p95_response_time_ms,
       (SELECT json_agg(json_build_array(q, n)) FROM questions) AS top_questions,
       (SELECT json_agg(days ORDER BY day) FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
                                                    count(*) AS count FROM logs GROUP BY 1) days) AS daily
FROM logs
"""


@dataclass
class SizeResult:
    rows: int
    generate_s: float
    backfill_s: float
    rollup_s: float  # median of the 15-minute run (today + yesterday)
    api_read_ms: float  # median
    direct_ms: float  # median
    speedup: float
    matches: bool
    mismatches: list[str]


async def widget_ids(url: str) -> list[str]:
    """The bench's widgets (and their clients), created in the empty database `url`."""
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO clients (name) SELECT 'Bench client ' || n FROM generate_series(1, 5) n")
        conn.execute(
            "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) "
            "SELECT (SELECT id FROM clients ORDER BY name LIMIT 1 OFFSET n %% 5), 'Bench widget ' || n, "
            "'{}'::jsonb, 'https://n8n.example/webhook', 'secret' FROM generate_series(1, %(n)s) n",
            {"n": WIDGETS},
        )
        return [str(r[0]) for r in conn.execute("SELECT id FROM widgets ORDER BY id").fetchall()]


def generate(url: str, start: int, stop: int, *, end: datetime, progress: bool) -> None:
    """Chat logs start..stop-1 (staged in chunks, so a large size shows progress), written in time
    order in one transaction."""
    with psycopg.connect(url) as conn:
        conn.execute("SET LOCAL work_mem = '256MB'")
        conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
        conn.execute(_STAGE)
        for lo in range(start, stop, CHUNK):
            hi = min(stop, lo + CHUNK)
            conn.execute(_GENERATE, {"widgets": WIDGETS, "days": DAYS, "end": end, "lo": lo, "hi": hi})
            if progress:
                print(f"  staged {hi:,} rows", file=sys.stderr)
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = 'chat_logs' AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = 'chat_logs'::regclass)"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        conn.execute(
            f"INSERT INTO chat_logs ({_COLUMNS}) SELECT {_COLUMNS} FROM bench_chat_logs ORDER BY created_at"
        )
        for _, definition in indexes:
            conn.execute(definition)  # the server's own text of an index that was there
        conn.execute("DROP TABLE bench_chat_logs")
        if progress:
            print(f"  wrote {stop - start:,} rows and rebuilt {len(indexes)} indexes", file=sys.stderr)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE chat_logs")


# Fifteen minutes of traffic before each timed 15-minute rollup (the logs a real run finds new): at
# the size's average rate, written 6-20 minutes before the run (inside the window it covers), from
# sessions marked `traffic-`, which the next --reuse deletes before its backfill. They ask the two
# most asked questions, which every day's stored top 50 holds, so the top-question counts stay
# comparable with the direct aggregate (a tail question pushed up by a few new logs would show the
# per-day top-50 approximation, README "Questions", instead of the speed).
_TRAFFIC = """
INSERT INTO chat_logs (widget_id, user_id, message, response, confidence, feedback, status, response_time_ms,
                       topic, created_at)
SELECT w.ids[1 + (i %% %(widgets)s)], 'traffic-' || %(round)s || '-' || (i / 4),
       'How do I question ' || (i %% 2) || '?', 'Answer ' || (i %% 97),
       CASE WHEN i %% 33 = 0 THEN NULL ELSE ((i * 7919) %% 1000) / 1000.0 END,
       CASE WHEN i %% 20 = 0 THEN 'up' WHEN i %% 20 = 1 THEN 'down' END,
       CASE WHEN i %% 33 = 0 THEN 'failed' ELSE 'answered' END,
       100 + ((i * 104729) %% 1000) * ((i * 31) %% 1000) * 3 / 1000, 'topic ' || (i %% 15),
       now() - interval '20 minutes' + i * (interval '14 minutes' / %(n)s)
FROM generate_series(0, %(n)s - 1) AS i, (SELECT array_agg(id ORDER BY id) AS ids FROM widgets) AS w
"""
_TRAFFIC_SESSIONS = "user_id LIKE 'traffic-%%'"
_ROLLUP_TABLES = (
    "analytics", "analytics_lists", "analytics_list_blocks", "analytics_list_block_spans", "analytics_list_block_stale",
    "analytics_rollup_days",
)  # fmt: skip


def add_traffic(url: str, rows: int, round_: int) -> int:
    """Fifteen minutes' worth of new logs at this size's rate (at least 1); how many."""
    n = max(1, rows // (DAYS * 24 * 4))
    with psycopg.connect(url) as conn:
        conn.execute(_TRAFFIC, {"widgets": WIDGETS, "round": round_, "n": n})
    return n


async def run_rollup_timed(url: str, *, now: datetime, since: date | None) -> float:
    """One run of the rollup job as at `now` (from `since`, or its 15-minute default); seconds."""
    from shared.jobs import JobContext
    from shared.observability import logger
    from shared.services.rollup import run_rollup
    from shared.settings import Settings

    settings = Settings.model_validate(
        {"environment": "development", "database_url": url, "signing_key": "b" * 40}
    )
    from shared.db import Database

    db = Database(url, statement_timeout_ms=0, operation_timeout=600)
    try:
        event = {"since": since.isoformat()} if since else {}
        started = time.perf_counter()
        await run_rollup(JobContext("analytics_rollup", settings, db, event, now, logger))
        return time.perf_counter() - started
    finally:
        await db.close()


async def _read_api(
    url: str, widget: str, first: date, last: date, rounds: int
) -> tuple[float, dict[str, Any]]:
    from shared.api import analytics, auth
    from shared.api.app import build_app
    from shared.db import Database
    from shared.repositories import users
    from shared.services.auth import hash_password
    from shared.settings import Settings

    settings = Settings.model_validate(
        {
            "environment": "development",
            "database_url": url,
            "signing_key": "b" * 40,
            "widget_cache_seconds": 0,
        }
    )
    db = Database(url)
    email = f"bench-{time.time_ns()}@agency.test"
    await db.run(users.create_user, email=email, password_hash=hash_password("bench password 1"), role="admin",
                 client_id=None)  # fmt: skip
    await db.close()
    app = build_app(title="analytics", routers=[auth.router, analytics.router], settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench.test") as client:
        login = await client.post("/v1/auth/login", json={"email": email, "password": "bench password 1"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        path = f"/v1/analytics/widgets/{widget}?from={first}&to={last}"
        timings = []
        body: dict[str, Any] = {}
        for n in range(rounds + 3):
            started = time.perf_counter()
            response = await client.get(path, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.text
            body = response.json()
            if n >= 3:  # warm-up
                timings.append(elapsed)
    await app.state.resources.aclose()
    return statistics.median(timings), body


def _direct(url: str, widget: str, first: date, last: date, rounds: int) -> tuple[float, dict[str, Any]]:
    from shared.services import questions

    lo = datetime.combine(first, datetime.min.time(), UTC)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), UTC)
    query = _DIRECT.format(key=questions.SQL_TEMPLATE.format(column="message"))
    timings = []
    row: dict[str, Any] = {}
    with psycopg.connect(url, row_factory=psycopg.rows.dict_row) as conn:
        for _ in range(rounds):
            started = time.perf_counter()
            row = conn.execute(
                query, {**questions.SQL_PARAMS, "widget": widget, "lo": lo, "hi": hi}
            ).fetchone()  # type: ignore
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), row


def compare(api: dict[str, Any], direct: dict[str, Any]) -> list[str]:
    """Where the API's totals differ from the direct aggregate (p95 within its 1 % buckets)."""
    totals, problems = api["totals"], []
    for name in ("chats", "conversations", "failed", "positive_feedback", "negative_feedback"):
        if totals[name] != direct[name]:
            problems.append(f"{name}: api {totals[name]} != direct {direct[name]}")
    for name, tolerance in (("avg_confidence", 1e-4), ("avg_response_time_ms", 0.06)):
        if direct[name] is not None and abs(float(totals[name]) - float(direct[name])) > tolerance:
            problems.append(f"{name}: api {totals[name]} != direct {direct[name]}")
    if direct["p95_response_time_ms"] is not None:
        exact = float(direct["p95_response_time_ms"])
        if not exact * 0.99 - 1 <= totals["p95_response_time_ms"] <= exact:
            problems.append(f"p95: api {totals['p95_response_time_ms']} vs direct {exact}")
    direct_top = [n for _, n in direct["top_questions"] or []]
    api_top = [q["count"] for q in api["top_questions"]]
    if api_top != direct_top:
        problems.append(f"top question counts: api {api_top} != direct {direct_top}")
    messages = sum(int(d["count"]) for d in direct["daily"] or [])
    if messages != totals["chats"] + totals["failed"]:
        problems.append(f"messages: direct {messages} != api {totals['chats'] + totals['failed']}")
    return problems


def _reusable(url: str, rows: int) -> list[str] | None:
    """The widgets of a kept bench database holding exactly `rows` logs, else None."""
    with psycopg.connect(url) as conn:
        widgets = [str(r[0]) for r in conn.execute("SELECT id FROM widgets ORDER BY id").fetchall()]
        conn.execute(f"DELETE FROM chat_logs WHERE {_TRAFFIC_SESSIONS}")  # an earlier run's
        # Everything the rollup wrote, so that the backfill starts from nothing, as a fresh one does
        # (over rows it left, it rewrites only the list rows that changed: none).
        conn.execute(f"TRUNCATE {', '.join(_ROLLUP_TABLES)}")
        count = conn.execute("SELECT count(*) FROM chat_logs").fetchone()
    return widgets if len(widgets) == WIDGETS and count is not None and count[0] == rows else None


async def check_size(
    url: str, rows: int, *, rounds: int = 15, progress: bool = False, reuse: bool = False
) -> SizeResult:
    """Generate `rows` logs into the (empty) database `url` (or, with `reuse`, use the ones it holds),
    roll up, read and compare."""
    now = datetime.now(UTC)
    today = now.date()
    kept = _reusable(url, rows) if reuse else None
    started = time.perf_counter()
    if kept is None:
        widgets = await widget_ids(url)
        generate(url, 0, rows, end=now - timedelta(minutes=10), progress=progress)
    else:
        widgets = kept
    generate_s = time.perf_counter() - started if kept is None else 0.0
    # The backfill runs as if just after midnight... of a fully ended day: from 180 days ago to today.
    backfill_s = await run_rollup_timed(url, now=now, since=today - timedelta(days=DAYS))
    rollups = []
    for round_ in range(3):
        add_traffic(url, rows, round_)
        rollups.append(await run_rollup_timed(url, now=datetime.now(UTC), since=None))
    first, last = today - timedelta(days=READ_DAYS - 1), today
    api_ms, body = await _read_api(url, widgets[0], first, last, rounds)
    direct_ms, direct = _direct(url, widgets[0], first, last, max(3, rounds // 3))
    problems = compare(body, direct)
    return SizeResult(
        rows=rows,
        generate_s=round(generate_s, 1),
        backfill_s=round(backfill_s, 2),
        rollup_s=round(statistics.median(rollups), 3),
        api_read_ms=round(api_ms, 2),
        direct_ms=round(direct_ms, 1),
        speedup=round(direct_ms / api_ms, 1),
        matches=not problems,
        mismatches=problems,
    )


def _kept_database(name: str, *, reuse: bool) -> str:
    """The URL of bench database `name`, migrated: the existing one with `reuse`, else a fresh one."""
    import os

    from scripts.localdb import create_database, embedded_database_url
    from scripts.migrate import migrate

    admin_url = os.environ.get("DATABASE_URL") or embedded_database_url(BENCH_SERVER_DIR)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    url = (
        psycopg.conninfo.make_conninfo(admin_url, dbname=name)
        if reuse and exists
        else create_database(admin_url, name)
    )
    migrate(url)
    return url


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[500_000, 5_000_000])
    parser.add_argument("--rounds", type=int, default=30, help="API reads per size (median)")
    parser.add_argument("--keep", action="store_true", help="keep the bench databases afterwards")
    parser.add_argument("--reuse", action="store_true", help="reuse kept bench databases (implies --keep)")
    args = parser.parse_args(argv)
    results = []
    for rows in args.rows:
        name = f"cwp_bench_analytics_{rows}"
        if args.keep or args.reuse:
            url = _kept_database(name, reuse=args.reuse)
            results.append(
                asyncio.run(
                    check_size(url, rows, rounds=args.rounds, progress=not args.json, reuse=args.reuse)
                )
            )
        else:
            with bench_database(name) as database:
                results.append(
                    asyncio.run(check_size(database.url, rows, rounds=args.rounds, progress=not args.json))
                )
        if not args.json:
            print(json.dumps(asdict(results[-1])), file=sys.stderr)
    failed: list[str] = []
    largest, smallest = results[-1], results[0]
    for result in results:
        if not result.matches:
            failed.append(f"{result.rows:,} rows: API differs from the direct aggregate")
    if largest.api_read_ms > TARGET_READ_MS:
        failed.append(f"API read p50 {largest.api_read_ms} ms > {TARGET_READ_MS} ms")
    if largest.speedup < TARGET_SPEEDUP:
        failed.append(f"speed-up {largest.speedup}x < {TARGET_SPEEDUP}x")
    if len(results) > 1 and largest.api_read_ms > TARGET_GROWTH * smallest.api_read_ms:
        failed.append(f"read grows {largest.api_read_ms / smallest.api_read_ms:.2f}x > {TARGET_GROWTH}x")
    if largest.rollup_s > TARGET_ROLLUP_S:
        failed.append(f"15-minute rollup {largest.rollup_s} s > {TARGET_ROLLUP_S} s")
    if largest.backfill_s > TARGET_BACKFILL_S:
        failed.append(f"backfill {largest.backfill_s} s > {TARGET_BACKFILL_S} s")
    if args.json:
        print(json.dumps({"results": [asdict(r) for r in results], "failed": failed}))
    else:
        print(
            "| rows | generate s | backfill s | 15-min rollup s | API read p50 ms | direct ms | speed-up | equal |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for r in results:
            print(f"| {r.rows:,} | {r.generate_s} | {r.backfill_s} | {r.rollup_s} | {r.api_read_ms} | "
                  f"{r.direct_ms} | {r.speedup}x | {'yes' if r.matches else 'NO: ' + '; '.join(r.mismatches)} |")  # fmt: skip
        if len(results) > 1:
            print(
                f"read at {largest.rows:,} / read at {smallest.rows:,}: {largest.api_read_ms / smallest.api_read_ms:.2f}x"
            )
        print(verdict(failed))
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
