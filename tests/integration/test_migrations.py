"""Migrations: the seeds' schema exactly, applied once, atomically per file."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scripts.localdb import create_database, drop_database
from scripts.migrate import MIGRATIONS_DIR, main, migrate

# Every column of every table in the seeds, with its type as information_schema names it.
SEED_COLUMNS = {
    "clients": {
        "id": "uuid",
        "name": "text",
        "contact_email": "text",
        "company_name": "text",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
    },
    "widgets": {
        "id": "uuid",
        "client_id": "uuid",
        "name": "text",
        "config": "jsonb",
        "webhook_url": "text",
        "widget_secret": "text",
        "is_active": "boolean",
        "is_demo": "boolean",
        "expires_at": "timestamp with time zone",
        "created_at": "timestamp with time zone",
        "updated_at": "timestamp with time zone",
    },
    "chat_logs": {
        "id": "uuid",
        "widget_id": "uuid",
        "user_id": "text",
        "message": "text",
        "response": "text",
        "confidence": "double precision",
        "feedback": "text",
        "created_at": "timestamp with time zone",
    },
    "analytics": {
        "id": "uuid",
        "widget_id": "uuid",
        "date": "date",
        "num_chats": "integer",
        "avg_confidence": "double precision",
        "positive_feedback": "integer",
        "negative_feedback": "integer",
        "most_common_questions": "jsonb",
        "created_at": "timestamp with time zone",
    },
    "webhook_errors": {
        "id": "uuid",
        "widget_id": "uuid",
        "error_type": "text",
        "error_message": "text",
        "occurred_at": "timestamp with time zone",
    },
}
SEED_INDEXES = {
    "idx_widgets_client_id",
    "idx_widgets_is_demo",
    "idx_widgets_expires_at",
    # idx_chat_logs_widget_id is gone since 0018: idx_chat_logs_widget_created and
    # idx_chat_logs_widget_session (0002) lead with widget_id and serve every lookup it served.
    "idx_chat_logs_created_at",
    "idx_analytics_widget_id_date",
    "idx_webhook_errors_widget_id",
    "idx_webhook_errors_occurred_at",
}


@pytest.fixture
def fresh_database(postgres_admin_url: str) -> Any:
    name = f"cwp_mig_{uuid.uuid4().hex[:10]}"
    yield create_database(postgres_admin_url, name)
    drop_database(postgres_admin_url, name)


def schema_snapshot(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2"
        ).fetchall()
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
        ).fetchall()
        versions = conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    return [*columns, *indexes, *versions]


def test_applying_twice_changes_nothing(fresh_database: str) -> None:
    # Given a database with every migration applied
    first = migrate(fresh_database)
    before = schema_snapshot(fresh_database)
    # When the migrations run again
    second = migrate(fresh_database)
    # Then nothing is applied and the schema is identical
    assert first == sorted(p.name for p in MIGRATIONS_DIR.glob("*.sql"))
    assert second == []
    assert schema_snapshot(fresh_database) == before


def test_tables_hold_every_seed_column_index_and_constraint(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'"
        ).fetchall()
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")}
        uniques = {
            (r[0], r[1])
            for r in conn.execute(
                "SELECT tc.table_name, string_agg(kcu.column_name, ',' ORDER BY kcu.ordinal_position) "
                "FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu "
                "  ON tc.constraint_name = kcu.constraint_name WHERE tc.constraint_type = 'UNIQUE' "
                "GROUP BY tc.table_name, tc.constraint_name"
            )
        }
        cascades = {
            r[0]
            for r in conn.execute(
                "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' AND confdeltype = 'c'"
            )
        }
    actual: dict[str, dict[str, str]] = {}
    for table, column, data_type in columns:
        actual.setdefault(table, {})[column] = data_type
    for table, expected in SEED_COLUMNS.items():
        assert expected.items() <= actual[table].items(), table
    assert indexes >= SEED_INDEXES
    assert {"idx_chat_logs_widget_created", "idx_chat_logs_widget_session"} <= indexes
    assert {("widgets", "client_id,name"), ("analytics", "widget_id,date")} <= uniques
    assert {"widgets", "chat_logs", "analytics", "webhook_errors"} <= cascades


def test_design_additions_are_present(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        rls: dict[str, bool] = dict(
            conn.execute(
                "SELECT relname, relrowsecurity FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind = 'r'"
            ).fetchall()
        )
        persistence = conn.execute(
            "SELECT relpersistence FROM pg_class WHERE relname = 'rate_limits'"
        ).fetchone()
        columns = {
            tuple(r)
            for r in conn.execute(
                "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
        }
    assert rls and all(rls.values()), rls
    assert persistence == ("u",)
    assert {
        ("chat_logs", "status"),
        ("chat_logs", "response_time_ms"),
        ("chat_logs", "topic"),
        ("analytics", "num_conversations"),
        ("analytics", "num_failed"),
        ("analytics", "avg_response_time_ms"),
        ("analytics", "p95_response_time_ms"),
        ("analytics", "top_topics"),
        ("analytics", "updated_at"),
        ("widgets", "health_status"),
        ("widgets", "health_checked_at"),
        ("widgets", "consecutive_failures"),
        ("users", "password_hash"),
        ("users", "role"),
        ("users", "client_id"),
    } <= columns


def test_updated_at_follows_every_update(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "INSERT INTO clients (name, updated_at) VALUES ('A', now() - interval '1 day') RETURNING id"
        ).fetchone()
        assert row is not None
        conn.execute("UPDATE clients SET name = 'B' WHERE id = %s", [row[0]])
        fresh = conn.execute(
            "SELECT updated_at > now() - interval '1 minute' FROM clients WHERE id = %s", [row[0]]
        )
        assert fresh.fetchone() == (True,)


def test_a_failing_file_leaves_the_database_as_it_was(
    fresh_database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given the real migrations followed by a file that fails half-way
    for path in MIGRATIONS_DIR.glob("*.sql"):
        shutil.copy(path, tmp_path)
    (tmp_path / "0999_broken.sql").write_text(
        "CREATE TABLE half_done (id int);\nINSERT INTO no_such_table VALUES (1);\n"
    )
    # When the migrator runs
    code = main(["--database-url", fresh_database, "--dir", str(tmp_path)])
    # Then it exits non-zero naming the file and the Postgres error
    err = capsys.readouterr().err
    assert code == 1
    assert "0999_broken.sql" in err and 'relation "no_such_table" does not exist' in err
    # And nothing of that file remains, while the good files stay applied
    with psycopg.connect(fresh_database) as conn:
        assert conn.execute("SELECT to_regclass('half_done')").fetchone() == (None,)
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    assert "0999_broken.sql" not in versions and "0001_initial_schema.sql" in versions


def test_unreachable_database_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--database-url", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=2"])
    assert code == 1
    assert "cannot connect to the database" in capsys.readouterr().err
