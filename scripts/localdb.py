"""Which database the scripts use: DATABASE_URL if set, else an embedded Postgres under .data/."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"


def embedded_database_url(data_dir: Path = DATA_DIR / "postgres") -> str:
    """Start (or join) the embedded Postgres whose files live in `data_dir`; it stops when the last
    process using it exits, and its data survives restarts."""
    return str(embedded_server(data_dir).get_uri())


def embedded_server(data_dir: Path, *, cleanup_mode: str = "stop") -> Any:
    """The `pgserver` server of `data_dir`, started if needed.

    Processes starting at once (pytest-xdist workers, a test run beside `make dev`) take turns: the
    first initialises and starts the server under a file lock, the others join it.
    """
    import fcntl

    runtime = DATA_DIR / "runtime"  # pgserver (platformdirs) wants one; headless machines have none
    runtime.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    from pgserver import get_server  # type: ignore[attr-defined]  # dev-only; not re-exported explicitly

    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir.parent / f".{data_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return get_server(data_dir, cleanup_mode=cleanup_mode)


def database_url() -> str:
    """The database the scripts work on."""
    return os.environ.get("DATABASE_URL") or embedded_database_url()


def create_database(admin_url: str, name: str) -> str:
    """(Re)create an empty database `name` on the server of `admin_url`; returns its URL."""
    import psycopg
    from psycopg import sql

    drop_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return psycopg.conninfo.make_conninfo(admin_url, dbname=name)


def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` if it exists, disconnecting whoever still uses it."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
