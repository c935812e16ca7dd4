"""Daily analytics rollups per widget."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from shared.db import Conn
from shared.models import AnalyticsDay

_COLUMNS = (
    "widget_id, date, num_chats, num_conversations, num_failed, avg_confidence, positive_feedback, "
    "negative_feedback, avg_response_time_ms, p95_response_time_ms, "
    "coalesce(most_common_questions, '[]'::jsonb) AS most_common_questions, top_topics, updated_at"
)


async def list_days(conn: Conn, *, widget_id: UUID, start: date, end: date) -> list[AnalyticsDay]:
    """The widget's daily rollups from `start` to `end` inclusive, oldest first."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM analytics "
        "WHERE widget_id = %(widget_id)s AND date BETWEEN %(start)s AND %(end)s ORDER BY date",
        {"widget_id": widget_id, "start": start, "end": end},
    )
    return [AnalyticsDay.model_validate(row) for row in await cur.fetchall()]
