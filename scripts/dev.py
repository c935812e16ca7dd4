"""Run the whole platform on one machine: `make dev`.

Uses $DATABASE_URL or an embedded Postgres under .data/, migrates, seeds, and serves every HTTP
function's routes on one server (default http://127.0.0.1:8000), with the same URL layout as
CloudFront gives in AWS, plus /widget.js and the admin SPA when they are built.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, Response

from scripts import sample_bot
from scripts.localdb import DATA_DIR, ROOT, database_url

FUNCTIONS_DIR = ROOT / "functions"
WIDGET_JS = ROOT / "widget" / "dist" / "widget.js"
ADMIN_DIST = ROOT / "admin" / "dist"
WIDGET_CACHE_CONTROL = "public, max-age=300"


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


def build_app() -> FastAPI:
    """One app serving all functions' routes plus the static widget and SPA."""
    from shared.http import create_app

    routers = http_function_routers()
    collect_routes(routers)  # refuses duplicates before anything is served
    app = create_app(
        title="chat-widget-platform (dev)",
        routers=[*(r for rs in routers.values() for r in rs), sample_bot.router],
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

    if ADMIN_DIST.exists():
        app.mount("/", StaticFiles(directory=ADMIN_DIST, html=True), name="admin")
    return app


def prepare_environment(host: str, port: int) -> str:
    """Development defaults for every setting not already given; returns the public base URL."""
    base_url = f"http://{host}:{port}"
    DATA_DIR.mkdir(exist_ok=True)
    key_file = DATA_DIR / "signing_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    defaults = {
        "ENVIRONMENT": "development",
        "ALLOW_INSECURE_WEBHOOKS": "1",
        "DB_POOL_SIZE": "16",
        "PUBLIC_BASE_URL": base_url,
        "SIGNING_KEY": key_file.read_text().strip(),
        "POWERTOOLS_METRICS_NAMESPACE": "ChatWidgetDev",
        "POWERTOOLS_DEV": "true",
        "WEBHOOK_TIMEOUT_SECONDS": "25",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    os.environ["DATABASE_URL"] = database_url()
    return os.environ["PUBLIC_BASE_URL"]


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


def start_in_background(
    *, database_url: str, port: int, log_path: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """The dev runner as `make dev` runs it, without demo data and quiet, for tests and benchmarks.

    The caller waits until it serves, and stops it."""
    environment = {
        **os.environ,
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
        **(env or {}),
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "scripts.dev", "--port", str(port), "--no-seed"],
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
    args = parser.parse_args(argv)

    import uvicorn

    from scripts.migrate import MigrationError, migrate
    from scripts.seed import report, seed

    base_url = prepare_environment(args.host, args.port)
    url = os.environ["DATABASE_URL"]
    try:
        applied = migrate(url)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"database ready ({len(applied)} migration(s) applied)")
    if not args.no_seed:
        print(report(asyncio.run(seed(url, base_url=base_url)), base_url=base_url))
    try:
        app = build_app()
    except DuplicateRouteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"serving on {base_url} (Ctrl-C stops the server and the embedded database)")
    uvicorn.run(app, **server_options(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
