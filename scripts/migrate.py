"""Apply pending SQL migrations in order, each in its own transaction, recorded in schema_migrations.

    python -m scripts.migrate [--database-url URL] [--dir infra/db/migrations]

Re-running is a no-op. A failing file is rolled back whole and the command exits 1 naming the file
and the Postgres error; files applied before it stay applied.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import psycopg

from scripts.localdb import ROOT, database_url

MIGRATIONS_DIR = ROOT / "infra" / "db" / "migrations"
# Any constant works: it only keeps two migrators (say, parallel test workers) from interleaving.
_LOCK_ID = 7_271_001


class MigrationError(Exception):
    """A migration file failed; the database is as it was before that file."""

    def __init__(self, filename: str, error: psycopg.Error) -> None:
        super().__init__(f"migration {filename} failed: {str(error).strip()}")
        self.filename = filename


def migrate(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending `*.sql` files of `directory`; returns the names applied now."""
    applied_now: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", [_LOCK_ID])
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
            )
            done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
            for path in sorted(directory.glob("*.sql")):
                if path.name in done:
                    continue
                try:
                    with conn.transaction():
                        conn.execute(path.read_text())  # our own trusted file
                        conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)", [path.name])
                except psycopg.Error as exc:
                    raise MigrationError(path.name, exc) from exc
                applied_now.append(path.name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", [_LOCK_ID])
    return applied_now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="default: $DATABASE_URL, else the embedded dev database")
    parser.add_argument("--dir", type=Path, default=MIGRATIONS_DIR, help="folder of numbered .sql files")
    args = parser.parse_args(argv)
    try:
        applied = migrate(args.database_url or database_url(), args.dir)
    except MigrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        print(f"error: cannot connect to the database: {exc}", file=sys.stderr)
        return 1
    print(
        f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else " (up to date)")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
