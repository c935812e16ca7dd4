"""What the benchmarks share: a fresh bench database, a widget in it, ports and processes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID

from scripts.localdb import DATA_DIR, create_database, drop_database, embedded_database_url

BENCH_SERVER_DIR = DATA_DIR / "bench-postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_in_thread(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free loopback port from a background thread; yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class BenchDatabase:
    admin_url: str
    url: str
    postmaster_pid: int | None  # known for the embedded server only


@contextlib.contextmanager
def bench_database(name: str) -> Iterator[BenchDatabase]:
    """A fresh, migrated database `name` on the embedded bench server or on $DATABASE_URL's server;
    dropped afterwards."""
    from scripts.migrate import migrate

    external = os.environ.get("DATABASE_URL")
    admin_url = external or embedded_database_url(BENCH_SERVER_DIR)
    postmaster_pid = None
    if not external:
        postmaster_pid = int((BENCH_SERVER_DIR / "postmaster.pid").read_text().split()[0])
    url = create_database(admin_url, name)
    try:
        migrate(url)
        yield BenchDatabase(admin_url, url, postmaster_pid)
    finally:
        drop_database(admin_url, name)


async def create_bench_widget(url: str, webhook_url: str, *, name: str, config: dict[str, Any]) -> UUID:
    """A client and a widget pointing at `webhook_url`, through the product's own code."""
    from shared.db import Database
    from shared.models import ClientCreate, WidgetConfig, WidgetCreate
    from shared.repositories import clients
    from shared.services.widgets import create_widget

    db = Database(url)
    try:
        client = await db.run(clients.create_client, data=ClientCreate(name=name))
        widget, _ = await create_widget(
            db,
            data=WidgetCreate(
                client_id=client.id,
                name=f"{name} widget",
                webhook_url=webhook_url,
                config=WidgetConfig.model_validate(config),
            ),
        )
    finally:
        await db.close()
    return widget.id


def stop_process(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Terminate, then kill if it does not stop in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
