"""Which database the scripts use: DATABASE_URL if set, else an embedded Postgres under .data/."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / ".data"


def embedded_database_url(data_dir: Path = DATA_DIR / "postgres") -> str:
    """Start (or join) the embedded Postgres whose files live in `data_dir`; it stops when the last
    process using it exits, and its data survives restarts."""
    from pgserver import get_server  # type: ignore[attr-defined]  # dev-only; not re-exported explicitly

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode="stop")
    return str(server.get_uri())


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
