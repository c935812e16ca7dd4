"""Batch deletes for the purge job: each call deletes at most `limit` rows in one short statement
(its own transaction), so no delete holds locks or a transaction open for long, whatever the
volume. Rows another transaction holds are skipped, never waited for; the next batch or run gets
them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.db import Conn

WidgetTable = Literal["chat_logs", "webhook_errors", "analytics"]

# One statement per table: table names are never formatted into SQL from values.
_DELETE_OF_WIDGETS: dict[WidgetTable, str] = {
    table: (
        f"DELETE FROM {table} WHERE ctid = ANY(ARRAY("
        f"  SELECT ctid FROM {table} WHERE widget_id = ANY(%(ids)s::uuid[]) "
        "  LIMIT %(limit)s FOR UPDATE SKIP LOCKED))"
    )
    for table in ("chat_logs", "webhook_errors", "analytics")
}


async def delete_rows_of_widgets(conn: Conn, *, table: WidgetTable, ids: list[UUID], limit: int) -> int:
    """Delete up to `limit` rows of `table` that belong to these widgets; returns how many."""
    cur = await conn.execute(_DELETE_OF_WIDGETS[table], {"ids": ids, "limit": limit})
    return cur.rowcount


async def delete_chat_logs_before(conn: Conn, *, widget_id: UUID, before: datetime, limit: int) -> int:
    """Delete up to `limit` of the widget's chat logs created before `before` (its retention);
    the analytics rollups stay. Returns how many."""
    cur = await conn.execute(
        "DELETE FROM chat_logs WHERE ctid = ANY(ARRAY("
        "  SELECT ctid FROM chat_logs WHERE widget_id = %(widget_id)s AND created_at < %(before)s "
        "  LIMIT %(limit)s FOR UPDATE SKIP LOCKED))",
        {"widget_id": widget_id, "before": before, "limit": limit},
    )
    return cur.rowcount


async def delete_webhook_errors_before(conn: Conn, *, before: datetime, limit: int) -> int:
    """Delete up to `limit` webhook errors that occurred before `before`; returns how many."""
    cur = await conn.execute(
        "DELETE FROM webhook_errors WHERE ctid = ANY(ARRAY("
        "  SELECT ctid FROM webhook_errors WHERE occurred_at < %(before)s "
        "  LIMIT %(limit)s FOR UPDATE SKIP LOCKED))",
        {"before": before, "limit": limit},
    )
    return cur.rowcount
