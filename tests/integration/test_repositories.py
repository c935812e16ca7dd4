"""Repository functions against the real schema."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from shared.db import Conn, Database
from shared.models import ChatLogCreate
from shared.repositories import analytics, chat_logs, clients, users, webhook_errors, widgets
from tests.factories import make_client, make_widget


def log(widget_id: uuid.UUID, session: str, text: str) -> ChatLogCreate:
    return ChatLogCreate(
        id=uuid.uuid4(),
        widget_id=widget_id,
        session_id=session,
        message=text,
        response=f"re: {text}",
        status="answered",
        confidence=0.5,
        response_time_ms=12,
    )


@pytest.mark.anyio
async def test_clients_are_searchable_and_deleting_one_cascades(db: Database) -> None:
    # Given two clients, one with a widget that has logs
    acme = await make_client(
        db, name="Acme Bakery", company_name="Acme Ltd", contact_email="Owner@Acme.example"
    )
    await make_client(db, name="Zed Plumbing")
    widget, _ = await make_widget(db, client=acme)
    await db.run(chat_logs.insert_chat_log, data=log(widget.id, "s1", "hi"))
    # When searching by part of the company name (LIKE wildcards are taken literally)
    found = await db.run(clients.list_clients, search="acme l")
    none = await db.run(clients.list_clients, search="%")
    # Then only that client matches
    assert [c.name for c in found] == ["Acme Bakery"]
    assert found[0].contact_email == "owner@acme.example"
    assert none == []
    # And deleting it removes its widgets and their logs
    assert await db.run(clients.delete_client, client_id=acme.id) is True
    assert await db.run(widgets.get_widget, widget_id=widget.id) is None
    assert await db.run(chat_logs.list_session_history, widget_id=widget.id, session_id="s1") == []
    assert await db.run(clients.delete_client, client_id=acme.id) is False


@pytest.mark.anyio
async def test_widget_names_are_unique_per_client(db: Database) -> None:
    widget, secret = await make_widget(db)
    assert len(secret) >= 43 and widget.widget_secret.get_secret_value() == secret

    async def duplicate(conn: Conn) -> None:
        await conn.execute(
            "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) VALUES (%s, %s, %s, 'x', 'y')",
            [widget.client_id, widget.name, Jsonb({})],
        )

    with pytest.raises(psycopg.errors.UniqueViolation):
        await db.run(duplicate)
    assert [w.id for w in await db.run(widgets.list_widgets, client_id=widget.client_id)] == [widget.id]
    assert await db.run(widgets.list_widgets, is_demo=True) == []


@pytest.mark.anyio
async def test_session_history_is_oldest_first_and_paged(db: Database) -> None:
    widget, _ = await make_widget(db)
    for i in range(5):
        await db.run(chat_logs.insert_chat_log, data=log(widget.id, "s1", f"m{i}"))
    await db.run(chat_logs.insert_chat_log, data=log(widget.id, "other", "not mine"))
    first = await db.run(chat_logs.list_session_history, widget_id=widget.id, session_id="s1", limit=3)
    rest = await db.run(
        chat_logs.list_session_history,
        widget_id=widget.id,
        session_id="s1",
        limit=3,
        after=(first[-1].created_at, first[-1].id),
    )
    assert [c.message for c in first + rest] == ["m0", "m1", "m2", "m3", "m4"]


@pytest.mark.anyio
async def test_feedback_only_lands_on_the_sessions_own_message(db: Database) -> None:
    widget, _ = await make_widget(db)
    mine = await db.run(chat_logs.insert_chat_log, data=log(widget.id, "s1", "hello"))
    assert (
        await db.run(
            chat_logs.set_feedback, widget_id=widget.id, session_id="s2", message_id=mine.id, value="up"
        )
        is False
    )
    assert await db.run(
        chat_logs.set_feedback, widget_id=widget.id, session_id="s1", message_id=mine.id, value="down"
    )
    [row] = await db.run(chat_logs.list_session_history, widget_id=widget.id, session_id="s1")
    assert row.feedback == "down"


@pytest.mark.anyio
async def test_webhook_errors_newest_first_and_filtered(db: Database) -> None:
    widget, _ = await make_widget(db)
    other, _ = await make_widget(db)
    await db.run(
        webhook_errors.insert_webhook_error, widget_id=widget.id, error_type="timeout", error_message="slow"
    )
    await db.run(
        webhook_errors.insert_webhook_error,
        widget_id=widget.id,
        error_type="http_5xx",
        error_message="x" * 5000,
    )
    await db.run(
        webhook_errors.insert_webhook_error, widget_id=other.id, error_type="tls", error_message="cert"
    )
    found = await db.run(webhook_errors.list_webhook_errors, widget_id=widget.id)
    assert [e.error_type for e in found] == ["http_5xx", "timeout"]
    assert len(found[0].error_message or "") == webhook_errors.MAX_MESSAGE_LENGTH
    later = datetime.now(UTC) + timedelta(minutes=1)
    assert await db.run(webhook_errors.list_webhook_errors, since=later) == []


@pytest.mark.anyio
async def test_users_emails_are_case_insensitive_and_unique(db: Database) -> None:
    client = await make_client(db)
    created = await db.run(
        users.create_user, email="Viewer@Example.com", password_hash="h", role="client", client_id=client.id
    )
    found = await db.run(users.get_user_by_email, email="VIEWER@example.COM")
    assert found is not None and found.id == created.id and found.password_hash.get_secret_value() == "h"
    with pytest.raises(psycopg.errors.UniqueViolation):
        await db.run(users.create_user, email="viewer@example.com", password_hash="h", role="admin")
    with pytest.raises(psycopg.errors.CheckViolation):  # a client viewer needs its client
        await db.run(users.create_user, email="lost@example.com", password_hash="h", role="client")


@pytest.mark.anyio
async def test_analytics_days_in_range(db: Database) -> None:
    widget, _ = await make_widget(db)

    async def insert_days(conn: Conn) -> None:
        for day in (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 5)):
            await conn.execute(
                "INSERT INTO analytics (widget_id, date, num_chats, num_conversations, avg_confidence, top_topics) "
                "VALUES (%s, %s, 3, 2, 0.8, %s)",
                [widget.id, day, Jsonb([{"topic": "hours", "count": 2}])],
            )

    await db.run(insert_days)
    days = await db.run(
        analytics.list_days, widget_id=widget.id, start=date(2026, 11, 2), end=date(2026, 11, 5)
    )
    assert [d.date for d in days] == [date(2026, 11, 2), date(2026, 11, 5)]
    assert days[0].num_chats == 3 and days[0].top_topics == [{"topic": "hours", "count": 2}]
    assert days[0].most_common_questions == []
