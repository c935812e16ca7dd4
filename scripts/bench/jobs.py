"""Scheduled jobs benchmark: the hourly webhook check and the purge at scale.

1. webhook_check: 1,000 widgets on local servers (one process of their own), 100 of them on a
   webhook that accepts the connection and never answers. Target: every widget probed, the run
   done within WEBHOOK_PROBE_TIMEOUT_SECONDS + 5 s, and no widget on a healthy webhook recorded as
   failing (the hanging ones as `timeout`).
2. demo_purge: 10,000 expired demo widgets with 1,000,000 chat logs. Target: everything deleted,
   no single transaction (one database operation of the job) over 1 s; reports the longest and the
   total.

Both run through the jobs' own runner (`shared.jobs.run_job`) with the Lambda settings (one
database connection per process).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import time
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

from scripts.bench.harness import bench_database, bench_parser, positive_int, verdict
from shared.db import Database
from shared.jobs import run_job
from shared.settings import Settings

PROBE_TIMEOUT_SECONDS = 10.0
SLACK_SECONDS = 5.0
MAX_TRANSACTION_SECONDS = 1.0
_HEALTHY_REPLY = (
    b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{"data": []}'
)


def _serve(ports: Any) -> None:
    """In its own process: a webhook answering like n8n's Chat Trigger, and one that never answers."""

    async def healthy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    (
                        int(line.split(b":", 1)[1])
                        for line in head.split(b"\r\n")
                        if line.lower().startswith(b"content-length:")
                    ),
                    0,
                )
                await reader.readexactly(length)
                writer.write(_HEALTHY_REPLY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def hanging(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read()  # until the prober hangs up
        finally:
            writer.close()

    async def main() -> None:
        servers = [
            await asyncio.start_server(handler, "127.0.0.1", 0, backlog=2048)
            for handler in (healthy, hanging)
        ]
        ports.put([server.sockets[0].getsockname()[1] for server in servers])
        await asyncio.Event().wait()

    asyncio.run(main())


def _settings(url: str, **overrides: Any) -> Settings:
    return Settings.model_validate(
        {
            "environment": "development",  # loopback webhooks allowed
            "database_url": url,
            "signing_key": "bench-" + "k" * 40,
            "db_pool_size": 1,  # as in Lambda
            **overrides,
        }
    )


def _fill_widgets(url: str, *, healthy: str, hanging: str, widgets: int, hung: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO clients (name) SELECT 'Client ' || i FROM generate_series(1, 100) AS i")
        conn.execute(
            "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) "
            "SELECT (SELECT id FROM clients ORDER BY name OFFSET (i %% 100) LIMIT 1), 'Widget ' || i, '{}', "
            "       CASE WHEN i <= %(hung)s THEN %(hanging)s ELSE %(healthy)s END, md5(random()::text) "
            "FROM generate_series(1, %(widgets)s) AS i",
            {"hung": hung, "hanging": hanging, "healthy": healthy, "widgets": widgets},
        )
        conn.execute("ANALYZE widgets")


async def bench_health_check(url: str, *, widgets: int, hung: int) -> dict[str, Any]:
    from shared.services.health_check import run_webhook_check

    ports: Any = multiprocessing.get_context("spawn").Queue()
    servers = multiprocessing.get_context("spawn").Process(target=_serve, args=(ports,), daemon=True)
    servers.start()
    try:
        healthy_port, hanging_port = ports.get(timeout=30)
        healthy, hanging = (f"http://127.0.0.1:{p}/webhook/chat" for p in (healthy_port, hanging_port))
        _fill_widgets(url, healthy=healthy, hanging=hanging, widgets=widgets, hung=hung)
        settings = _settings(url, webhook_probe_timeout_seconds=PROBE_TIMEOUT_SECONDS)
        db = Database(url, pool_size=1)
        started = time.perf_counter()
        summary = await run_job(
            run_webhook_check, name="webhook_check", event={}, context=None, settings=settings, db=db
        )
        elapsed = time.perf_counter() - started
        await db.close()
    finally:
        servers.terminate()
        servers.join(10)
    with psycopg.connect(url) as conn:
        wrong = conn.execute(
            "SELECT count(*) FROM widgets WHERE webhook_url = %s AND health_status <> 'healthy'", (healthy,)
        ).fetchone()
        timed_out = conn.execute(
            "SELECT count(*) FROM widgets WHERE webhook_url = %s AND last_error_type = 'timeout'", (hanging,)
        ).fetchone()
    assert wrong is not None and timed_out is not None
    return {
        "widgets": widgets,
        "hanging": hung,
        "probed": summary["probed"],
        "healthy": summary["healthy"],
        "failing": summary["failing"],
        "healthy_recorded_failing": wrong[0],
        "hanging_recorded_timeout": timed_out[0],
        "seconds": round(elapsed, 2),
        "limit_seconds": PROBE_TIMEOUT_SECONDS + SLACK_SECONDS,
    }


class _TimedDatabase(Database):
    """Times every operation; each of the purge's operations is one transaction."""

    durations: list[float]

    async def run(self, operation: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await super().run(operation, *args, **kwargs)
        finally:
            self.durations.append(time.perf_counter() - started)


def _fill_demos(url: str, *, widgets: int, logs: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO clients (name) VALUES ('Demo prospects')")
        conn.execute(
            "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret, is_demo, expires_at) "
            "SELECT (SELECT id FROM clients), 'Demo ' || i, '{}', 'https://n8n.example.com/webhook/x', "
            "       md5(random()::text), true, now() - interval '1 hour' "
            "FROM generate_series(1, %s) AS i",
            (widgets,),
        )
        per_widget = logs // widgets
        conn.execute(
            "INSERT INTO chat_logs (widget_id, user_id, message, response, status, created_at) "
            "SELECT w.id, 's' || n, 'What are your opening hours?', 'We are open 9 to 6.', 'answered', "
            "       now() - make_interval(mins => n) "
            "FROM widgets w, generate_series(1, %s) AS n",
            (per_widget,),
        )
        conn.execute("ANALYZE widgets; ANALYZE chat_logs")


async def bench_purge(url: str, *, widgets: int, logs: int) -> dict[str, Any]:
    from shared.services.purge import run_purge

    _fill_demos(url, widgets=widgets, logs=logs)
    db = _TimedDatabase(url, pool_size=1)
    db.durations = []
    started = time.perf_counter()
    summary = await run_job(
        run_purge, name="demo_purge", event={}, context=None, settings=_settings(url), db=db
    )
    elapsed = time.perf_counter() - started
    await db.close()
    return {
        "demo_widgets": widgets,
        "chat_logs": logs,
        "deleted": summary["deleted"],
        "complete": summary["complete"],
        "transactions": len(db.durations),
        "longest_transaction_seconds": round(max(db.durations), 3),
        "total_seconds": round(elapsed, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--widgets", type=positive_int, default=1000, help="widgets to health-check")
    parser.add_argument("--hanging", type=positive_int, default=100, help="of which on a hanging webhook")
    parser.add_argument("--demo-widgets", type=positive_int, default=10_000)
    parser.add_argument("--chat-logs", type=positive_int, default=1_000_000)
    parser.add_argument("--skip-purge", action="store_true")
    args = parser.parse_args(argv)
    failed: list[str] = []
    results: dict[str, Any] = {}
    with bench_database("cwp_bench_jobs_check") as database:
        check = asyncio.run(bench_health_check(database.url, widgets=args.widgets, hung=args.hanging))
    results["webhook_check"] = check
    if check["probed"] != args.widgets:
        failed.append("not every widget probed")
    if check["seconds"] > check["limit_seconds"]:
        failed.append("health check too slow")
    if check["healthy_recorded_failing"]:
        failed.append("a healthy webhook recorded failing")
    if not args.skip_purge:
        with bench_database("cwp_bench_jobs_purge") as database:
            purge = asyncio.run(bench_purge(database.url, widgets=args.demo_widgets, logs=args.chat_logs))
        results["demo_purge"] = purge
        if purge["deleted"]["widgets"] != args.demo_widgets or not purge["complete"]:
            failed.append("not everything purged")
        if purge["longest_transaction_seconds"] > MAX_TRANSACTION_SECONDS:
            failed.append("a purge transaction over 1 s")
    if args.json:
        print(json.dumps({**results, "failed": failed}))
    else:
        c = results["webhook_check"]
        print(
            f"webhook_check: {c['probed']:,}/{c['widgets']:,} probed ({c['hanging']} hanging) in {c['seconds']} s "
            f"(limit {c['limit_seconds']:g} s); healthy recorded failing: {c['healthy_recorded_failing']}; "
            f"hanging recorded as timeout: {c['hanging_recorded_timeout']}"
        )
        if "demo_purge" in results:
            p = results["demo_purge"]
            print(
                f"demo_purge: {p['demo_widgets']:,} demo widgets, {p['chat_logs']:,} chat logs -> deleted "
                f"{p['deleted']} in {p['total_seconds']} s over {p['transactions']:,} transactions; "
                f"longest {p['longest_transaction_seconds'] * 1000:.0f} ms"
            )
        print(verdict(failed))
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
