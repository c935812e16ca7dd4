"""The purge / retention job: expired demo widgets and everything below them go; live demos and
normal widgets stay; chat-log retention per widget keeps the analytics rollups; old webhook errors
and ended rate-limit windows go; a second run deletes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest

from shared.db import Database
from shared.jobs import run_job
from shared.models import Widget
from shared.repositories import purge as purge_repo
from shared.services import purge
from shared.services.purge import run_purge
from tests.conftest import make_settings
from tests.factories import make_widget

pytestmark = pytest.mark.anyio
NOW = datetime.now(UTC)


def execute(db_url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else []


def add_logs(db_url: str, widget: Widget, *, count: int, age: timedelta) -> None:
    execute(
        db_url,
        "INSERT INTO chat_logs (widget_id, user_id, message, response, status, created_at) "
        "SELECT %s, 's', 'q', 'a', 'answered', %s FROM generate_series(1, %s)",
        widget.id,
        NOW - age,
        count,
    )


def add_rollup(db_url: str, widget: Widget, day: date) -> None:
    execute(db_url, "INSERT INTO analytics (widget_id, date, num_chats) VALUES (%s, %s, 5)", widget.id, day)


def add_error(db_url: str, widget: Widget, *, age: timedelta) -> None:
    execute(
        db_url,
        "INSERT INTO webhook_errors (widget_id, error_type, error_message, occurred_at) "
        "VALUES (%s, 'timeout', 'slow', %s)",
        widget.id,
        NOW - age,
    )


def count(db_url: str, table: str, widget_id: UUID | None = None) -> int:
    if widget_id is None:
        return int(execute(db_url, f"SELECT count(*) FROM {table}")[0][0])
    column = "id" if table == "widgets" else "widget_id"
    return int(execute(db_url, f"SELECT count(*) FROM {table} WHERE {column} = %s", widget_id)[0][0])


async def purge_once(db: Database, db_url: str) -> dict[str, Any]:
    return await run_job(
        run_purge, name="demo_purge", event={}, context=None, settings=make_settings(db_url), db=db
    )


async def test_the_purge_deletes_what_expired_and_nothing_else(db: Database, db_url: str) -> None:
    # Given an expired demo widget with logs, rollups and errors
    expired, _ = await make_widget(db, is_demo=True, expires_at=NOW - timedelta(hours=1))
    add_logs(db_url, expired, count=7, age=timedelta(hours=3))
    add_rollup(db_url, expired, NOW.date())
    add_error(db_url, expired, age=timedelta(hours=2))
    # and a live demo widget and a normal widget without retention, with old logs
    live, _ = await make_widget(db, is_demo=True, expires_at=NOW + timedelta(hours=1))
    add_logs(db_url, live, count=3, age=timedelta(hours=3))
    forever, _ = await make_widget(db)
    add_logs(db_url, forever, count=4, age=timedelta(days=400))
    # and a widget keeping 30 days of logs, with logs and rollups of 40 and 10 days ago
    kept30, _ = await make_widget(db, config={"retention_days": 30})
    add_logs(db_url, kept30, count=6, age=timedelta(days=40))
    add_logs(db_url, kept30, count=2, age=timedelta(days=10))
    add_rollup(db_url, kept30, (NOW - timedelta(days=40)).date())
    add_rollup(db_url, kept30, (NOW - timedelta(days=10)).date())
    # and webhook errors of 100 and 10 days ago (retention 90 days)
    add_error(db_url, forever, age=timedelta(days=100))
    add_error(db_url, forever, age=timedelta(days=10))
    # and a rate-limit window that ended and one still running
    execute(
        db_url,
        "INSERT INTO rate_limits (key, window_start, count, window_seconds) VALUES "
        "('old', now() - interval '10 minutes', 3, 60), ('current', now(), 1, 600)",
    )

    # When the purge runs
    summary = await purge_once(db, db_url)

    # Then it reports what it deleted per table
    assert summary == {
        "deleted": {"widgets": 1, "chat_logs": 7 + 6, "analytics": 1, "webhook_errors": 2, "rate_limits": 1},
        "complete": True,
    }
    # and the expired demo widget and all its dependents are gone
    for table in ("widgets", "chat_logs", "analytics", "webhook_errors"):
        assert count(db_url, table, expired.id) == 0, table
    # and the live demo and the widget without retention are untouched
    assert count(db_url, "chat_logs", live.id) == 3 and count(db_url, "widgets", live.id) == 1
    assert count(db_url, "chat_logs", forever.id) == 4
    # and retention removed only the old logs, keeping both rollups (the dashboard's history)
    assert count(db_url, "chat_logs", kept30.id) == 2
    assert count(db_url, "analytics", kept30.id) == 2
    # and only the recent webhook error and the running rate-limit window remain
    assert count(db_url, "webhook_errors") == 1
    assert execute(db_url, "SELECT key FROM rate_limits") == [("current",)]

    # When it runs again, it deletes nothing
    again = await purge_once(db, db_url)
    assert again["deleted"] == dict.fromkeys(purge.TABLES, 0) and again["complete"] is True


async def test_the_purge_works_in_small_batches_until_done(
    db: Database, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given batches of 3 rows and 2 widgets, and 5 expired demo widgets with 4 logs each
    monkeypatch.setattr(purge, "ROW_BATCH", 3)
    monkeypatch.setattr(purge, "WIDGET_BATCH", 2)
    widgets = [(await make_widget(db, is_demo=True, expires_at=NOW - timedelta(days=1)))[0] for _ in range(5)]
    for widget in widgets:
        add_logs(db_url, widget, count=4, age=timedelta(days=2))
    statements: list[str] = []
    monkeypatch.setattr(
        purge_repo, "delete_rows_of_widgets", _recording(purge_repo.delete_rows_of_widgets, statements)
    )

    # When the purge runs
    summary = await purge_once(db, db_url)

    # Then every widget and log went, a batch at a time (no statement deleted more than 3 logs)
    assert summary["deleted"]["widgets"] == 5 and summary["deleted"]["chat_logs"] == 20
    assert count(db_url, "widgets") == 0 and count(db_url, "chat_logs") == 0
    assert len([s for s in statements if s == "chat_logs"]) >= 20 // 3


async def test_the_purge_stops_between_batches_when_time_runs_out(db: Database, db_url: str) -> None:
    # Given an expired demo widget, and an invocation with little time left
    await make_widget(db, is_demo=True, expires_at=NOW - timedelta(days=1))

    class AlmostOut:
        def get_remaining_time_in_millis(self) -> int:
            return 1000

    # When the purge runs, it stops before deleting and says it is not complete
    summary = await run_job(
        run_purge, name="demo_purge", event={}, context=AlmostOut(), settings=make_settings(db_url), db=db
    )
    assert summary["complete"] is False and summary["deleted"]["widgets"] == 0
    assert count(db_url, "widgets") == 1


def _recording(function: Any, log: list[str]) -> Any:
    async def recorded(conn: Any, **kwargs: Any) -> int:
        log.append(kwargs["table"])
        result: int = await function(conn, **kwargs)
        return result

    return recorded
