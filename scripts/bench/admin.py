"""Admin API benchmark: listing and creating widgets with 1,000 clients and 10,000 widgets.

Measures, in one process and one run, the median time of
- a page of 50 widgets (unfiltered), a page filtered by client, and a search by name, through the
  admin API (the app's own database connection), and
- creating a widget, which probes its webhook (a local server answering like n8n's Chat Trigger),
against the floor: one primary-key SELECT of a widget over the same connection. For information, a
search matching every name, one matching none, and a page deep in the list.

The app is called as Mangum calls it in Lambda: one ASGI call with the request's scope, the
response's status and body collected (`AsgiCaller`). An HTTP client in the same process (httpx's
ASGI transport, used before) added its own work to every call, ~0.5 ms here: building and quoting
the URL, and, without `sniffio` installed, a failed import on every request.
Target: every list page within 5 ms of that floor at the median. Creating has no target (it waits
for the probe's round trip); it is reported against the same floor.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.types import ASGIApp, Message

from scripts.bench.harness import (
    bench_database,
    bench_parser,
    positive_int,
    reference_workload_ms,
    serve_in_thread,
    verdict,
)
from shared.api import admin, auth
from shared.api.app import build_app
from shared.models import User
from shared.observability import logger
from shared.repositories import users, widgets
from shared.services.auth import hash_password, issue_token
from shared.settings import Settings

TARGET_MS_OVER_FLOOR = 5.0


class _ChatTrigger(BaseHTTPRequestHandler):
    """Answers the health probe as n8n's Chat Trigger does: `{"data": []}`."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"data": []}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


def _fill(url: str, *, clients: int, widgets_per_client: int, webhook: str) -> None:
    """Clients and widgets in two set-based INSERTs."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO clients (name, contact_email, company_name) "
            "SELECT 'Client ' || lpad(i::text, 5, '0'), 'owner' || i || '@client.test', 'Company ' || i "
            "FROM generate_series(1, %s) AS i",
            (clients,),
        )
        conn.execute(
            "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) "
            "SELECT c.id, 'Widget ' || w, '{}'::jsonb, %s, md5(random()::text) "
            "FROM clients c, generate_series(1, %s) AS w",
            (webhook, widgets_per_client),
        )
    with psycopg.connect(url, autocommit=True) as conn:  # as autovacuum leaves a table in use
        for table in ("clients", "widgets", "widget_name_trigrams", "widget_trigram_counts"):
            conn.execute(f"VACUUM ANALYZE {table}")


async def _timed(samples: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    for _ in range(min(5, samples)):  # warm-up: plans cached, connection open
        await call()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        times.append((time.perf_counter() - started) * 1000)
    return times


async def _measure(url: str, webhook: str, samples: int, *, through_httpx: bool) -> dict[str, list[float]]:
    settings = Settings.model_validate(
        {"environment": "development", "database_url": url, "signing_key": "bench-" + "k" * 40}
    )
    app = build_app(title="admin bench", routers=[auth.router, *admin.ROUTERS], settings=settings, relay=True)
    db = app.state.resources.db
    created = await db.run(
        users.create_user,
        email="bench@agency.test",
        password_hash=hash_password("bench password 1"),
        role="admin",
    )
    token, _ = issue_token(settings.signing_key_bytes, User.model_validate(created), now=datetime.now(UTC))
    rows = await db.run(widgets.list_widgets)
    some_widget, some_client = rows[len(rows) // 2].id, rows[len(rows) // 2].client_id
    headers = {"authorization": f"Bearer {token}"}
    http: Caller = HttpxCaller(app, headers=headers) if through_httpx else AsgiCaller(app, headers=headers)
    results: dict[str, list[float]] = {}
    results["floor: primary-key SELECT"] = await _timed(
        samples, lambda: db.run(widgets.get_widget, widget_id=some_widget)
    )
    results["list: page of 50"] = await _timed(
        samples, lambda: _get(http, "/v1/admin/widgets", {"limit": 50})
    )
    results["list: page 101 of 200 (info)"] = await _timed(
        samples, lambda: _get(http, "/v1/admin/widgets", {"limit": 50, "offset": 5000})
    )
    results["list: by client"] = await _timed(
        samples, lambda: _get(http, "/v1/admin/widgets", {"client_id": str(some_client), "limit": 50})
    )
    results["list: search"] = await _timed(
        samples, lambda: _get(http, "/v1/admin/widgets", {"search": "idget 7", "limit": 50})
    )
    results["list: search matching every name (info)"] = await _timed(
        samples, lambda: _get(http, "/v1/admin/widgets", {"search": "widget", "limit": 50})
    )
    results["list: search matching no name (info)"] = await _timed(
        samples, lambda: _get(http, "/v1/admin/widgets", {"search": "zzz", "limit": 50})
    )

    async def create() -> None:
        body = {"client_id": str(some_client), "name": f"Bench {uuid.uuid4().hex}", "webhook_url": webhook}
        status, answer = await http.request("POST", "/v1/admin/widgets", body=json.dumps(body).encode())
        assert status == 201, answer
        assert json.loads(answer)["webhook_test"]["ok"], answer

    results["create (probes the webhook)"] = await _timed(max(5, samples // 4), create)
    if isinstance(http, HttpxCaller):
        await http.client.aclose()
    await app.state.resources.aclose()
    return results


class AsgiCaller:
    """Calls an ASGI app in process as Mangum does in Lambda: one call with the request's scope and
    body, the response's status and body collected."""

    def __init__(self, app: ASGIApp, *, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        headers = [(b"host", b"bench.test"), *self.headers]
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "https",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": urlencode(params or {}).encode(),
            "headers": headers,
            "server": ("bench.test", 443),
            "client": ("127.0.0.1", 50000),
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


class HttpxCaller:
    """The same calls through httpx's ASGI transport (`--httpx`: as measured before 2026-11-30)."""

    def __init__(self, app: ASGIApp, *, headers: dict[str, str]) -> None:
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench.test", headers=headers
        )

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, body: bytes = b""
    ) -> tuple[int, bytes]:
        headers = {"content-type": "application/json"} if body else {}
        response = await self.client.request(
            method, path, params=params, content=body or None, headers=headers
        )
        return response.status_code, response.content


Caller = AsgiCaller | HttpxCaller


async def _get(http: Caller, path: str, params: dict[str, Any]) -> None:
    status, body = await http.request("GET", path, params=params)
    assert status == 200, body


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__)
    parser.add_argument("--clients", type=positive_int, default=1000)
    parser.add_argument("--widgets-per-client", type=positive_int, default=10)
    parser.add_argument("--samples", type=positive_int, default=200, help="timed calls per measurement")
    parser.add_argument(
        "--httpx",
        action="store_true",
        help="call the app through httpx's ASGI transport (adds the client's work)",
    )
    args = parser.parse_args(argv)
    logger.setLevel("WARNING")  # one access line per call would be most of what is measured
    # The machine's speed before and after: the target is an absolute margin over the floor, and
    # this shared machine's speed drifts by 2-3x over a day (the floor, a round trip, moves less).
    reference_before = reference_workload_ms()
    with serve_in_thread(_ChatTrigger) as base, bench_database("cwp_bench_admin") as database:
        webhook = f"{base}/webhook/chat"
        _fill(database.url, clients=args.clients, widgets_per_client=args.widgets_per_client, webhook=webhook)
        results = asyncio.run(_measure(database.url, webhook, args.samples, through_httpx=args.httpx))
    reference = (reference_before, reference_workload_ms())
    floor = statistics.median(results["floor: primary-key SELECT"])
    report, failed = [], []
    for name, times in results.items():
        median = statistics.median(times)
        over = median - floor
        line = {"measurement": name, "median_ms": round(median, 3), "ratio": round(median / floor, 1)}
        if name.startswith("list") and "(info)" not in name:
            line["over_floor_ms"] = round(over, 3)
            line["target"] = f"<= floor + {TARGET_MS_OVER_FLOOR:g} ms"
            line["result"] = "PASS" if over <= TARGET_MS_OVER_FLOOR else "FAIL"
            if over > TARGET_MS_OVER_FLOOR:
                failed.append(name)
        report.append(line)
    if args.json:
        print(
            json.dumps(
                {
                    "clients": args.clients,
                    "widgets": args.clients * args.widgets_per_client,
                    "client": "httpx" if args.httpx else "asgi",
                    "results": report,
                    "reference_workload_ms": list(reference),
                }
            )
        )
    else:
        print(
            f"{args.clients:,} clients, {args.clients * args.widgets_per_client:,} widgets; medians of {args.samples} calls"
            f" ({'through httpx' if args.httpx else 'ASGI calls, as Mangum makes them'})"
        )
        for line in report:
            extra = f"  +{line['over_floor_ms']:.2f} ms  {line['result']}" if "result" in line else ""
            print(f"{line['measurement']:<44} {line['median_ms']:8.2f} ms  {line['ratio']:6.1f}x{extra}")
        print(
            f"machine speed (reference workload, CPU ms, lower is faster): {reference[0]:.1f} before, "
            f"{reference[1]:.1f} after"
        )
        print(verdict(failed))
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
