"""Run the whole platform on one machine: `make dev`.

Uses $DATABASE_URL or an embedded Postgres under .data/, migrates, seeds, and serves every HTTP
function's routes on one server (default http://127.0.0.1:8000), with the same URL layout as
CloudFront gives in AWS, plus /widget.js and the admin SPA when they are built (until the SPA is, `/`
is a page saying what runs). The scheduled jobs run in the background on their template.yaml
schedules (`--jobs-every SECONDS` shortens them, `--no-jobs` turns them off).

Ctrl-C, SIGTERM and SIGHUP (a closed terminal) all stop the server, the jobs and the embedded Postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import importlib
import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from uuid import UUID

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.types import Scope

if TYPE_CHECKING:
    import socket

    import uvicorn

from scripts import devenv, sample_bot
from scripts.invoke import SCHEDULES, invoke
from scripts.localdb import ROOT
from shared.api.public import demo
from shared.api.resources import ResourcesDep
from shared.db import Database
from shared.startup import tune_collector_for_serving

FUNCTIONS_DIR = ROOT / "functions"
WIDGET_JS = ROOT / "widget" / "dist" / "widget.js"
ADMIN_DIST = ROOT / "admin" / "dist"
ADMIN_PATH = "/admin"
WIDGET_CACHE_CONTROL = "public, max-age=300"
TRY_WIDGET_PATH = "/dev/widgets/{widget_id}"


class AdminSpaFiles(StaticFiles):
    """The built admin SPA: its files, and index.html for any other path without a file extension
    (the SPA's own routes, such as /admin/clients, reloaded or typed in the URL bar). Hashed assets
    are cached for good; index.html is revalidated so a new build is picked up at once."""

    def __init__(self, *, directory: Path) -> None:
        super().__init__(directory=directory, html=True)

    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or "." in path.rsplit("/", 1)[-1]:
                raise
            response = await super().get_response("index.html", scope)
        cache = "public, max-age=31536000, immutable" if path.startswith("assets/") else "no-cache"
        response.headers["Cache-Control"] = cache
        return response


class DuplicateRouteError(Exception):
    """Two functions claim the same method and path: in AWS only one of them could receive it."""


def function_names() -> list[str]:
    """Every function directory with a handler, in name order."""
    return sorted(p.parent.name for p in FUNCTIONS_DIR.glob("*/handler.py"))


def http_function_routers() -> dict[str, list[APIRouter]]:
    """The routers of every HTTP function (its handler's ROUTERS; scheduled functions have none)."""
    found = {}
    for name in function_names():
        module = importlib.import_module(f"functions.{name}.handler")
        if isinstance(getattr(module, "app", None), FastAPI):
            found[name] = list(module.ROUTERS)
    return found


def collect_routes(routers: dict[str, list[APIRouter]]) -> list[tuple[str, APIRoute]]:
    """Every API route of every function, refusing two functions that claim the same route."""
    owners: dict[tuple[str, str], str] = {}
    routes = []
    for name, function_routers in routers.items():
        for route in (r for router in function_routers for r in router.routes):
            if not isinstance(route, APIRoute):
                continue
            for method in sorted(route.methods or ()):
                key = (method, route.path)
                if key in owners:
                    raise DuplicateRouteError(
                        f"{method} {route.path} is served by both '{owners[key]}' and '{name}'"
                    )
                owners[key] = name
            routes.append((name, route))
    return routes


def build_app(*, jobs: JobScheduler | None = None) -> FastAPI:
    """One app serving all functions' routes plus the static widget and SPA (or, until the SPA is
    built, a page saying what runs: `jobs` are the scheduled jobs, None when they are off)."""
    from shared.api.app import build_app as build_function_app

    routers = http_function_routers()
    routes = collect_routes(routers)  # refuses duplicates before anything is served
    app = build_function_app(
        title="chat-widget-platform (dev)",
        routers=[*(r for rs in routers.values() for r in rs), sample_bot.router],
        relay=True,
    )

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js() -> Response:
        if not WIDGET_JS.exists():
            return Response(
                "// widget not built: run `make widget`\n",
                status_code=404,
                media_type="application/javascript",
            )
        # As deployed (README): browsers may reuse it for 5 minutes, then revalidate.
        return FileResponse(
            WIDGET_JS, media_type="application/javascript", headers={"Cache-Control": WIDGET_CACHE_CONTROL}
        )

    @app.get("/docs", include_in_schema=False)
    async def api_docs() -> HTMLResponse:
        # FastAPI's Swagger UI page (its scripts come from a CDN); the functions themselves serve none.
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API")

    @app.get(TRY_WIDGET_PATH, include_in_schema=False)
    async def try_widget(widget_id: str, resources: ResourcesDep) -> HTMLResponse:
        # Any widget on a page as its demo page shows it. `/v1/widgets/{id}/demo` serves only expiring
        # demo widgets, and the seeded widget is a regular one (demo_purge would delete a demo widget).
        try:
            widget = await resources.widgets.get(resources.db, UUID(widget_id))
        except ValueError:
            widget = None
        if widget is None:
            return HTMLResponse(demo.NOT_FOUND_HTML, status_code=404, headers=demo.HEADERS)
        return HTMLResponse(demo.demo_html(widget), headers=demo.HEADERS)

    if ADMIN_DIST.exists():

        @app.get("/", include_in_schema=False)
        async def open_admin() -> RedirectResponse:
            return RedirectResponse(ADMIN_PATH + "/")

        app.mount(ADMIN_PATH, AdminSpaFiles(directory=ADMIN_DIST), name="admin")
    else:

        @app.get("/", include_in_schema=False)
        async def overview(resources: ResourcesDep) -> HTMLResponse:
            page = overview_page(
                # CORS preflight routes (OPTIONS) are the widget's business, not an API to try.
                functions={
                    name: [r for owner, r in routes if owner == name and (r.methods or set()) - {"OPTIONS"}]
                    for name in routers
                },
                demo_widget_id=await find_demo_widget(resources.db),
                widget_built=WIDGET_JS.exists(),
                jobs=jobs,
            )
            return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    return app


async def find_demo_widget(db: Database) -> UUID | None:
    """The id of the widget `scripts/seed.py` makes, if it exists."""
    from scripts.seed import DEMO_CLIENT, DEMO_WIDGET
    from shared.repositories import clients, widgets

    for client in await db.run(clients.list_clients, search=DEMO_CLIENT):
        if client.name == DEMO_CLIENT:
            for widget in await db.run(widgets.list_widgets, client_id=client.id):
                if widget.name == DEMO_WIDGET:
                    return widget.id
    return None


def overview_page(
    *,
    functions: Mapping[str, list[APIRoute]],
    demo_widget_id: UUID | None,
    widget_built: bool,
    jobs: JobScheduler | None,
) -> str:
    """`/` until the admin SPA exists: what this server runs, and where to start."""
    e = html.escape
    if demo_widget_id is None:
        try_it = "<li>No demo widget yet: run <code>python -m scripts.seed</code> (<code>make dev</code> seeds one).</li>"
    else:
        try_it = (
            f'<li><a href="{TRY_WIDGET_PATH.format(widget_id=demo_widget_id)}">Try the demo widget</a>: a page '
            "with the seeded widget, which talks to the sample bot below. (Public demo pages, "
            "<code>/v1/widgets/{id}/demo</code>, are for expiring demo widgets; the seeded one is a "
            "regular widget.)</li>"
        )
    api_rows = "".join(
        f"<tr><td>{e(name)}</td><td>"
        + (
            "<br>".join(
                f"<code>{e(' '.join(sorted(route.methods or ())))} {e(route.path)}</code>" for route in routes
            )
            or "no routes yet (answers 404)"
        )
        + "</td></tr>"
        for name, routes in functions.items()
    )
    widget = (
        '<a href="/widget.js"><code>/widget.js</code></a>'
        if widget_built
        else "<code>/widget.js</code> is not built: run <code>make widget</code>"
    )
    if jobs is None:
        job_rows = '<tr><td colspan="3">off (<code>--no-jobs</code>)</td></tr>'
    else:
        job_rows = "".join(
            f"<tr><td>{e(name)}</td><td>every {e(every(period))}</td><td>{e(jobs.outcomes[name])}</td></tr>"
            for name, period in jobs.periods.items()
        )
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>chat-widget-platform (dev)</title>
<style>
body {{ font: 15px/1.5 system-ui, sans-serif; max-width: 56rem; margin: 2rem auto; padding: 0 1rem; color: #1f2933; }}
table {{ border-collapse: collapse; width: 100%; }}
td, th {{ text-align: left; vertical-align: top; padding: .35rem .6rem; border-bottom: 1px solid #e4e7eb; }}
code {{ font-size: 13px; }}
</style>
</head>
<body>
<h1>chat-widget-platform: development server</h1>
<p>Every function of the platform on one port, with the URL layout CloudFront gives in AWS. The admin
app is not built yet; until it is, this page says what runs here.</p>
<h2>Start here</h2>
<ul>
{try_it}
<li><a href="/docs">API docs</a> (Swagger UI) and the OpenAPI schema at <a href="/openapi.json"><code>/openapi.json</code></a>.</li>
</ul>
<h2>API functions</h2>
<table><tr><th>function</th><th>routes</th></tr>{api_rows}</table>
<h2>Widget and sample bot</h2>
<ul>
<li>The embeddable widget: {widget}.</li>
<li>The sample bot, <code>POST {e(sample_bot.PATH)}</code>: an n8n-compatible webhook (dev runner only)
that the demo widget talks to.</li>
</ul>
<h2>Scheduled jobs</h2>
<table><tr><th>job</th><th>schedule</th><th>last run</th></tr>{job_rows}</table>
</body>
</html>
"""


def prepare_environment(host: str, port: int, *, data_dir: Path | None = None) -> str:
    """Development defaults for every setting not already given (the embedded Postgres of
    `data_dir`, default .data/postgres, unless DATABASE_URL is set); returns the public base URL.

    The embedded Postgres is a direct connection, so the relay's hot statements are prepared
    (`DB_PREPARED_STATEMENTS`); a DATABASE_URL of the caller's may be a pooler, so not there."""
    if not os.environ.get("DATABASE_URL"):
        os.environ.setdefault("DB_PREPARED_STATEMENTS", "1")
    return devenv.prepare_environment(base_url=f"http://{host}:{port}", data_dir=data_dir)


def server_options(host: str, port: int) -> dict[str, Any]:
    """uvicorn's options for the dev server. It trusts no proxy headers: the visitor is the
    connection's peer, so X-Forwarded-For cannot choose (or rotate) the per-address rate limit's
    bucket. uvicorn's default trusts them from loopback, where every local request comes from."""
    return {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "proxy_headers": False,
        "forwarded_allow_ips": [],
    }


class JobScheduler:
    """Runs the scheduled functions in one background thread, through their Lambda handlers with
    the event and context Lambda would give them (`scripts/invoke.py`), one invocation at a time
    as a Lambda process does. The first runs start once `ready()` says the server is up (a webhook
    probe may call the sample bot).

    A job that raises is reported and run again after its period; one that raises
    NotImplementedError is reported once and not run again (it is not built yet). Nothing a job
    does stops the dev runner."""

    def __init__(
        self,
        periods: Mapping[str, float],
        *,
        invoke: Callable[[str], dict[str, Any]] = invoke,
        report: Callable[[str], None] = print,
    ) -> None:
        self.periods = dict(periods)
        self.outcomes = dict.fromkeys(self.periods, "not run yet")
        self._invoke = invoke
        self._report = report
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def describe(self) -> str:
        return ", ".join(f"{name} every {every(period)}" for name, period in self.periods.items())

    def start(self, *, ready: Callable[[], bool] = lambda: True) -> None:
        self._thread = threading.Thread(target=self._run, args=(ready,), name="jobs", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop scheduling and wait for a running job (for at most `timeout`), then close the jobs'
        database connections."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self, name: str) -> bool:
        """Invoke job `name` and report how it went; whether to run it again."""
        at = datetime.now().strftime("%H:%M:%S")
        try:
            summary = self._invoke(name)
        except NotImplementedError as exc:
            self._report(f"jobs: {name} not run again: {exc}")
            self.outcomes[name] = f"not run again: {exc}"
            return False
        except Exception as exc:
            self._report(
                f"jobs: {name} failed: {type(exc).__name__}: {exc} (next run in {every(self.periods[name])})"
            )
            self.outcomes[name] = f"failed at {at}: {type(exc).__name__}: {exc}"
            return True
        self._report(f"jobs: {name} done: {json.dumps(summary)}")
        self.outcomes[name] = f"done at {at}: {json.dumps(summary)}"
        return True

    def _run(self, ready: Callable[[], bool]) -> None:
        from shared import jobs

        try:
            while not ready():
                if self._stopping.wait(0.1):
                    return
            due = dict.fromkeys(self.periods, time.monotonic())
            while due:
                name, when = min(due.items(), key=lambda item: item[1])
                if self._stopping.wait(max(0.0, when - time.monotonic())):
                    return
                if self.run_once(name):
                    due[name] = max(when + self.periods[name], time.monotonic())
                else:
                    del due[name]
        finally:
            jobs.shutdown()


def every(seconds: float) -> str:
    """A period as people say it: "15 min", "1 h", "30 s"."""
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)} {unit}"
    return f"{seconds:g} s"


def stop_on_signals() -> None:
    """Make SIGTERM (a process manager, `timeout`) and SIGHUP (a closed terminal) stop the dev
    runner as Ctrl-C does. Killed by a signal, the process would skip its exit hooks, and pgserver
    stops the embedded Postgres from one, leaving it running. While serving, uvicorn takes SIGTERM
    itself, shuts down gracefully, then raises it again for the handler set here."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    def hang_up(signum: int, frame: FrameType | None) -> None:
        signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, hang_up)


def start_in_background(
    *,
    database_url: str,
    port: int,
    log_path: Path,
    env: dict[str, str] | None = None,
    args: tuple[str, ...] = ("--no-jobs",),
) -> subprocess.Popen[bytes]:
    """The dev runner as `make dev` runs it, without demo data, jobs (unless `args` ask) and
    quiet, for tests and benchmarks (on a database of theirs, reached directly: so with prepared
    statements, as on the embedded Postgres).

    The caller waits until it serves, and stops it."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "DB_PREPARED_STATEMENTS": "1",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "scripts.dev", "--port", str(port), "--no-seed", *args],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-seed", action="store_true", help="do not create the demo data")
    parser.add_argument(
        "--jobs-every", type=float, metavar="SECONDS", help="run every scheduled job this often instead"
    )
    parser.add_argument("--no-jobs", action="store_true", help="do not run the scheduled jobs")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="the embedded Postgres's data directory (default .data/postgres; unused with DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    if args.jobs_every is not None and args.jobs_every <= 0:
        parser.error("--jobs-every must be a positive number of seconds")

    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)  # each line at once, also into a pipe or a file
    stop_on_signals()
    try:
        code = run(args)
    except KeyboardInterrupt:
        code = 0
    finally:
        # The embedded Postgres stops from an exit hook after this: no signal may cut that short.
        for stop_signal in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(stop_signal, signal.SIG_IGN)
    if code == 0:  # however serving ended (uvicorn may handle Ctrl-C itself and return)
        print("stopped")
    return code


def run(args: argparse.Namespace) -> int:
    """Prepare the database, then serve (and run the jobs) until stopped."""
    import uvicorn

    from scripts.migrate import MigrationError, migrate
    from scripts.seed import report, seed

    base_url = prepare_environment(args.host, args.port, data_dir=args.data_dir)
    url = os.environ["DATABASE_URL"]
    try:
        applied = migrate(url)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"database ready ({len(applied)} migration(s) applied)")
    if not args.no_seed:
        print(report(asyncio.run(seed(url, base_url=base_url)), base_url=base_url))
    jobs = None
    if not args.no_jobs:
        jobs = JobScheduler({name: args.jobs_every or period for name, period in SCHEDULES.items()})
    try:
        app = build_app(jobs=jobs)
    except DuplicateRouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    serving = f"serving on {base_url} (Ctrl-C stops the server and the embedded database)"
    server = _announcing_server(uvicorn.Config(app, **server_options(args.host, args.port)), serving)
    if jobs is None:
        print("jobs: off (--no-jobs)")
    else:
        print(f"jobs: {jobs.describe()} (first runs once the server is up; --no-jobs turns them off)")
        jobs.start(ready=lambda: server.started)
    tune_collector_for_serving()
    try:
        server.run()
    finally:
        if jobs is not None:
            jobs.stop()
    return 0


def _announcing_server(config: uvicorn.Config, announcement: str) -> uvicorn.Server:
    """uvicorn's Server, printing `announcement` once it listens (not before: a client that
    connects on reading it must find the port open)."""
    import uvicorn

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(announcement, flush=True)

    return AnnouncingServer(config)


if __name__ == "__main__":
    raise SystemExit(main())
