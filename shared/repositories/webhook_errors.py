"""Webhook errors: every failed call to a widget's workflow, for alerting and troubleshooting."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.db import Conn
from shared.models import WebhookError, WebhookErrorType

_COLUMNS = "id, widget_id, error_type, error_message, occurred_at"
MAX_MESSAGE_LENGTH = 2000


async def insert_webhook_error(
    conn: Conn, *, widget_id: UUID, error_type: WebhookErrorType, error_message: str
) -> WebhookError:
    """Record one failure; the message is cut to a readable length."""
    cur = await conn.execute(
        "INSERT INTO webhook_errors (widget_id, error_type, error_message) "
        f"VALUES (%(widget_id)s, %(error_type)s, %(error_message)s) RETURNING {_COLUMNS}",
        {
            "widget_id": widget_id,
            "error_type": error_type,
            "error_message": error_message[:MAX_MESSAGE_LENGTH],
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return WebhookError.model_validate(row)


async def list_webhook_errors(
    conn: Conn, *, widget_id: UUID | None = None, since: datetime | None = None, limit: int = 100
) -> list[WebhookError]:
    """Newest failures first, optionally of one widget and/or since a time."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM webhook_errors "
        "WHERE (%(widget_id)s::uuid IS NULL OR widget_id = %(widget_id)s) "
        "  AND (%(since)s::timestamptz IS NULL OR occurred_at >= %(since)s) "
        "ORDER BY occurred_at DESC, id LIMIT %(limit)s",
        {"widget_id": widget_id, "since": since, "limit": limit},
    )
    return [WebhookError.model_validate(row) for row in await cur.fetchall()]
