"""Reviewing what visitors and workflows exchanged, and erasing it: chat logs newest first, a
widget's conversations (one per visitor session), erasing one visitor's conversation (a GDPR
request), bulk deletes of a widget's logs, and the webhook errors behind failed exchanges.

Long logs page by an opaque cursor over (time, id), so a page never skips or repeats a row while
new rows arrive; a cursor that does not decode answers 422 `invalid_cursor`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from shared.db import Database
from shared.errors import NotFoundError, UnprocessableError
from shared.models import ChatStatus, Feedback, User, WebhookErrorType
from shared.models.admin import CursorPage, DeletedCounts, Page
from shared.models.admin.chat_logs import ChatLogOut, Conversation
from shared.models.admin.webhook_errors import WebhookErrorOut
from shared.repositories import chat_logs, clients, webhook_errors, widgets
from shared.services.audit import audit
from shared.services.cursors import decode_cursor, encode_cursor


def check_range(start: datetime | None, end: datetime | None) -> None:
    """`from` must not come after `to` (422 `invalid_range`)."""
    if start is not None and end is not None and start > end:
        raise UnprocessableError("`from` must not be after `to`.", code="invalid_range")


async def require_widget(db: Database, widget_id: UUID) -> None:
    """404 `widget_not_found` unless the widget exists."""
    if await db.run(widgets.get_widget, widget_id=widget_id) is None:
        raise NotFoundError("No such widget.", code="widget_not_found")


async def list_chat_logs(
    db: Database,
    *,
    widget_id: UUID | None,
    session_id: str | None,
    start: datetime | None,
    end: datetime | None,
    status: ChatStatus | None,
    feedback: Feedback | Literal["none"] | None,
    cursor: str | None,
    limit: int,
) -> CursorPage[ChatLogOut]:
    """One page of exchanges, newest first, across widgets or of one. A session id is only
    meaningful within its widget (and only indexed there), so `session_id` needs `widget_id`."""
    if session_id is not None and widget_id is None:
        raise UnprocessableError("Filtering by session_id needs widget_id too.", code="widget_required")
    check_range(start, end)
    before = decode_cursor(cursor) if cursor else None
    if widget_id is not None:
        await require_widget(db, widget_id)
    logs = await db.run(
        chat_logs.list_chat_logs,
        widget_id=widget_id,
        session_id=session_id,
        start=start,
        end=end,
        status=status,
        feedback=feedback,
        before=before,
        limit=limit + 1,  # one more tells whether another page follows
    )
    page = logs[:limit]
    next_cursor = encode_cursor(page[-1].created_at, page[-1].id) if len(logs) > limit else None
    return CursorPage[ChatLogOut](items=[ChatLogOut.of(log) for log in page], next_cursor=next_cursor)


async def list_conversations(
    db: Database, *, widget_id: UUID, start: datetime | None, end: datetime | None, limit: int, offset: int
) -> Page[Conversation]:
    """A widget's conversations with a message in [`start`, `end`), the most recently active
    first. Sessions are ranked by an aggregate, so this pages by offset, with the total."""
    check_range(start, end)
    await require_widget(db, widget_id)
    items, total = await db.run(
        chat_logs.list_conversations, widget_id=widget_id, start=start, end=end, limit=limit, offset=offset
    )
    return Page[Conversation](items=items, total=total, limit=limit, offset=offset)


async def erase_conversation(db: Database, *, actor: User, widget_id: UUID, session_id: str) -> DeletedCounts:
    """Erase one visitor's conversation with a widget (its chat logs). Idempotent: erasing a
    session with no logs left answers zero counts. 404 for an unknown widget."""
    deleted = await db.run(chat_logs.delete_chat_logs, widget_id=widget_id, sessions=[session_id])
    if deleted is None:
        raise NotFoundError("No such widget.", code="widget_not_found")
    audit(actor, "conversation.erase", widget_id=widget_id, session_id=session_id, chat_logs=deleted)
    return DeletedCounts(chat_logs=deleted)


async def bulk_delete_chat_logs(
    db: Database, *, actor: User, widget_id: UUID, before: datetime | None, sessions: list[str] | None
) -> DeletedCounts:
    """Delete a widget's chat logs created before `before` and/or of `sessions` (neither: all of
    them; the request model makes the caller say so), in one statement. 404 for an unknown widget."""
    deleted = await db.run(chat_logs.delete_chat_logs, widget_id=widget_id, sessions=sessions, before=before)
    if deleted is None:
        raise NotFoundError("No such widget.", code="widget_not_found")
    audit(
        actor,
        "chat_logs.bulk_delete",
        widget_id=widget_id,
        before=before.isoformat() if before else None,
        **_sessions_audited(sessions),
        all=before is None and sessions is None,
        chat_logs=deleted,
    )
    return DeletedCounts(chat_logs=deleted)


def _sessions_audited(sessions: list[str] | None) -> dict[str, Any]:
    """The audit line's sessions: `session_id` for one (as before lists existed), `session_ids` for more."""
    if sessions is not None and len(sessions) > 1:
        return {"session_ids": sessions}
    return {"session_id": sessions[0] if sessions else None}


async def list_webhook_errors(
    db: Database,
    *,
    widget_id: UUID | None,
    client_id: UUID | None,
    since: datetime | None,
    error_type: WebhookErrorType | None,
    cursor: str | None,
    limit: int,
) -> CursorPage[WebhookErrorOut]:
    """One page of webhook failures, newest first, with widget and client names. 404 when the
    widget or client filtered by does not exist."""
    before = decode_cursor(cursor) if cursor else None
    if widget_id is not None:
        await require_widget(db, widget_id)
    if client_id is not None and await db.run(clients.get_client, client_id=client_id) is None:
        raise NotFoundError("No such client.", code="client_not_found")
    errors = await db.run(
        webhook_errors.list_webhook_errors_with_names,
        widget_id=widget_id,
        client_id=client_id,
        since=since,
        error_type=error_type,
        before=before,
        limit=limit + 1,
    )
    page = errors[:limit]
    next_cursor = encode_cursor(page[-1].occurred_at, page[-1].id) if len(errors) > limit else None
    return CursorPage[WebhookErrorOut](items=page, next_cursor=next_cursor)
