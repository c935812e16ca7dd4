"""Webhook errors: every failed call to a widget's workflow, for alerting and troubleshooting."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from shared.db import Conn
from shared.models import WebhookError, WebhookErrorType

if TYPE_CHECKING:
    from shared.models.admin.webhook_errors import WebhookErrorOut

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


async def list_webhook_errors_with_names(
    conn: Conn,
    *,
    widget_id: UUID | None = None,
    client_id: UUID | None = None,
    since: datetime | None = None,
    error_type: WebhookErrorType | None = None,
    before: tuple[datetime, UUID] | None = None,
    limit: int = 50,
) -> list[WebhookErrorOut]:
    """Failures newest first by (occurred_at, id) with their widget's and client's names, filtered,
    starting after the cursor `before` if given (idx_webhook_errors_occurred serves the order)."""
    from shared.models.admin.webhook_errors import WebhookErrorOut  # only the admin function needs it

    cur = await conn.execute(
        "SELECT e.id, e.widget_id, w.name AS widget_name, w.client_id, c.name AS client_name, "
        "       e.error_type, e.error_message, e.occurred_at "
        "FROM webhook_errors e JOIN widgets w ON w.id = e.widget_id JOIN clients c ON c.id = w.client_id "
        "WHERE (%(widget_id)s::uuid IS NULL OR e.widget_id = %(widget_id)s) "
        "  AND (%(client_id)s::uuid IS NULL OR w.client_id = %(client_id)s) "
        "  AND (%(since)s::timestamptz IS NULL OR e.occurred_at >= %(since)s) "
        "  AND (%(error_type)s::text IS NULL OR e.error_type = %(error_type)s) "
        "  AND (%(before_at)s::timestamptz IS NULL "
        "       OR (e.occurred_at <= %(before_at)s AND (e.occurred_at, e.id) < (%(before_at)s, %(before_id)s))) "
        "ORDER BY e.occurred_at DESC, e.id DESC LIMIT %(limit)s",
        {
            "widget_id": widget_id,
            "client_id": client_id,
            "since": since,
            "error_type": error_type,
            "before_at": before[0] if before else None,
            "before_id": before[1] if before else None,
            "limit": limit,
        },
    )
    return [WebhookErrorOut.model_validate(row) for row in await cur.fetchall()]
