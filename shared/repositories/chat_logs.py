"""Chat logs: every exchange between a visitor and a widget's workflow, answered or failed."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from psycopg.rows import tuple_row

from shared.db import Conn
from shared.models import ChatLog, ChatLogCreate, ChatStatus, Feedback, WebhookErrorType
from shared.repositories.webhook_errors import MAX_MESSAGE_LENGTH as MAX_ERROR_MESSAGE_LENGTH

if TYPE_CHECKING:
    from shared.models.admin.chat_logs import Conversation

_COLUMNS = (
    "id, widget_id, user_id, message, response, confidence, feedback, status, response_time_ms, topic, "
    "created_at"
)


# The session id is kept in `user_id`. The id is made before the webhook is called, so writing the
# same exchange twice (a retry whose first answer was lost) stores it once.
_INSERT_ONCE = (
    "INSERT INTO chat_logs (id, widget_id, user_id, message, response, confidence, status, "
    "                       response_time_ms, topic) "
    "VALUES (%(id)s, %(widget_id)s, %(session_id)s, %(message)s, %(response)s, %(confidence)s, "
    "        %(status)s, %(response_time_ms)s, %(topic)s) ON CONFLICT (id) DO NOTHING"
)
_INSERT = f"{_INSERT_ONCE} RETURNING {_COLUMNS}"
_INSERT_RETURNING_TIME = f"{_INSERT_ONCE} RETURNING created_at"


async def insert_chat_log(conn: Conn, *, data: ChatLogCreate) -> ChatLog:
    """Record one answered exchange (once, however often it is called with the same id), and end
    the widget's streak of failed visitor messages in the same statement (no write when there is
    none): an extra round trip per message cost as much as the insert.

    Only `created_at` comes back (as a tuple): the rest is what was written, and reading back and
    validating every column cost ~0.1 ms per message (docs/benchmarks.md "Relay overhead")."""
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute(
        "WITH streak AS (UPDATE widgets SET relay_failures = 0 "
        "  WHERE id = %(widget_id)s AND relay_failures > 0) " + _INSERT_RETURNING_TIME,
        data.model_dump(),
        prepare=True,  # once per relayed message (prepared where the Database allows it)
    )
    row = await cur.fetchone()
    if row is None:  # written by an earlier attempt
        return await _existing(conn, data.id)
    return ChatLog(
        id=data.id,
        widget_id=data.widget_id,
        user_id=data.session_id,
        message=data.message,
        response=data.response,
        confidence=data.confidence,
        feedback=None,
        status=data.status,
        response_time_ms=data.response_time_ms,
        topic=data.topic,
        created_at=row[0],
    )


async def insert_failed_exchange(
    conn: Conn, *, data: ChatLogCreate, error_type: WebhookErrorType, error_message: str
) -> ChatLog:
    """Record a failed exchange and its webhook error together, in one statement (both or neither;
    once, however often it is called with the same id)."""
    cur = await conn.execute(
        f"WITH log AS ({_INSERT}), failure AS ("
        "  INSERT INTO webhook_errors (widget_id, error_type, error_message) "
        "  SELECT widget_id, %(error_type)s, %(error_message)s FROM log) "
        "SELECT * FROM log",
        {
            **data.model_dump(),
            "error_type": error_type,
            "error_message": error_message[:MAX_ERROR_MESSAGE_LENGTH],
        },
    )
    return await _inserted_or_existing(conn, await cur.fetchone(), data.id)


async def _inserted_or_existing(conn: Conn, row: dict[str, object] | None, log_id: UUID) -> ChatLog:
    return ChatLog.model_validate(row) if row is not None else await _existing(conn, log_id)


async def _existing(conn: Conn, log_id: UUID) -> ChatLog:
    """The exchange an earlier attempt wrote (its answer was lost, so it was written again)."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM chat_logs WHERE id = %s", (log_id,))
    row = await cur.fetchone()
    assert row is not None
    return ChatLog.model_validate(row)


async def list_session_history(
    conn: Conn,
    *,
    widget_id: UUID,
    session_id: str,
    limit: int = 50,
    after: tuple[datetime, UUID] | None = None,
) -> list[ChatLog]:
    """A session's exchanges, oldest first, starting after the (created_at, id) cursor if given."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM chat_logs "
        "WHERE widget_id = %(widget_id)s AND user_id = %(session_id)s "
        "  AND (%(after_at)s::timestamptz IS NULL OR (created_at, id) > (%(after_at)s, %(after_id)s)) "
        "ORDER BY created_at, id LIMIT %(limit)s",
        {
            "widget_id": widget_id,
            "session_id": session_id,
            "limit": limit,
            "after_at": after[0] if after else None,
            "after_id": after[1] if after else None,
        },
    )
    return [ChatLog.model_validate(row) for row in await cur.fetchall()]


async def set_feedback(
    conn: Conn, *, widget_id: UUID, session_id: str, message_id: UUID, value: Feedback
) -> bool:
    """Record feedback on a message of that widget and session only. False if there is none."""
    cur = await conn.execute(
        "UPDATE chat_logs SET feedback = %(value)s "
        "WHERE id = %(id)s AND widget_id = %(widget_id)s AND user_id = %(session_id)s",
        {"value": value, "id": message_id, "widget_id": widget_id, "session_id": session_id},
    )
    return cur.rowcount == 1


# Admin review and erasure. Newest first by (created_at, id), walked backwards along
# idx_chat_logs_widget_created or idx_chat_logs_created_at (the planner picks by the widget's share
# of rows); `created_at <= at` is spelled out beside the row comparison so that the index bounds
# the cursor, not only a filter.
_REVIEW_FILTERS = (
    "(%(widget_id)s::uuid IS NULL OR widget_id = %(widget_id)s) "
    "AND (%(session_id)s::text IS NULL OR user_id = %(session_id)s) "
    "AND (%(start)s::timestamptz IS NULL OR created_at >= %(start)s) "
    "AND (%(end)s::timestamptz IS NULL OR created_at < %(end)s) "
)


async def list_chat_logs(
    conn: Conn,
    *,
    widget_id: UUID | None = None,
    session_id: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    status: ChatStatus | None = None,
    feedback: Feedback | Literal["none"] | None = None,
    before: tuple[datetime, UUID] | None = None,
    limit: int = 50,
) -> list[ChatLog]:
    """Exchanges newest first, filtered (`start` inclusive, `end` exclusive; `feedback` "none": no
    feedback given), starting after the (created_at, id) cursor `before` if given."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM chat_logs WHERE {_REVIEW_FILTERS}"
        "  AND (%(status)s::text IS NULL OR status = %(status)s) "
        "  AND (%(feedback)s::text IS NULL "
        "       OR (%(feedback)s = 'none' AND feedback IS NULL) OR feedback = %(feedback)s) "
        "  AND (%(before_at)s::timestamptz IS NULL "
        "       OR (created_at <= %(before_at)s AND (created_at, id) < (%(before_at)s, %(before_id)s))) "
        "ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
        {
            "widget_id": widget_id,
            "session_id": session_id,
            "start": start,
            "end": end,
            "status": status,
            "feedback": feedback,
            "before_at": before[0] if before else None,
            "before_id": before[1] if before else None,
            "limit": limit,
        },
    )
    return [ChatLog.model_validate(row) for row in await cur.fetchall()]


async def list_conversations(
    conn: Conn,
    *,
    widget_id: UUID,
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Conversation], int]:
    """A widget's sessions, the most recently active first, each summing up its exchanges within
    [`start`, `end`); and how many sessions that range holds. Logs without a session are left out."""
    from shared.models.admin.chat_logs import Conversation  # only the admin function needs it

    params = {"widget_id": widget_id, "session_id": None, "start": start, "end": end}
    cur = await conn.execute(
        "SELECT user_id AS session_id, min(created_at) AS first_message_at, "
        "       max(created_at) AS last_message_at, count(*) AS message_count, "
        "       count(*) FILTER (WHERE status = 'failed') AS failed_count, "
        "       count(*) FILTER (WHERE feedback = 'up') AS up, "
        "       count(*) FILTER (WHERE feedback = 'down') AS down, "
        "       count(*) OVER () AS total "
        f"FROM chat_logs WHERE {_REVIEW_FILTERS} AND user_id IS NOT NULL "
        "GROUP BY user_id ORDER BY last_message_at DESC, session_id DESC "
        "LIMIT %(limit)s OFFSET %(offset)s",
        {**params, "limit": limit, "offset": offset},
    )
    rows = await cur.fetchall()
    if rows:
        total = int(rows[0]["total"])
    else:  # past the last page (or none at all): count them on their own
        cur = await conn.execute(
            f"SELECT count(DISTINCT user_id) AS total FROM chat_logs WHERE {_REVIEW_FILTERS}", params
        )
        found = await cur.fetchone()
        total = int(found["total"]) if found else 0
    conversations = [
        Conversation.model_validate({**row, "feedback": {"up": row["up"], "down": row["down"]}})
        for row in rows
    ]
    return conversations, total


async def delete_chat_logs(
    conn: Conn, *, widget_id: UUID, sessions: list[str] | None = None, before: datetime | None = None
) -> int | None:
    """Delete a widget's exchanges of some sessions and/or created before a time (both None: all of
    them), in one statement; how many went, or None if there is no such widget."""
    cur = await conn.execute(
        "WITH target AS (SELECT id FROM widgets WHERE id = %(widget_id)s), "
        "gone AS ("
        "  DELETE FROM chat_logs WHERE widget_id IN (SELECT id FROM target) "
        "    AND (%(sessions)s::text[] IS NULL OR user_id = ANY(%(sessions)s)) "
        "    AND (%(before)s::timestamptz IS NULL OR created_at < %(before)s) "
        "  RETURNING 1) "
        "SELECT EXISTS (SELECT 1 FROM target) AS found, (SELECT count(*) FROM gone) AS deleted",
        {"widget_id": widget_id, "sessions": sessions, "before": before},
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["deleted"]) if row["found"] else None
