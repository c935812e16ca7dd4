"""Chat logs: every exchange between a visitor and a widget's workflow, answered or failed."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.db import Conn
from shared.models import ChatLog, ChatLogCreate, Feedback, WebhookErrorType
from shared.repositories.webhook_errors import MAX_MESSAGE_LENGTH as MAX_ERROR_MESSAGE_LENGTH

_COLUMNS = (
    "id, widget_id, user_id, message, response, confidence, feedback, status, response_time_ms, topic, "
    "created_at"
)


# The session id is kept in `user_id`. The id is made before the webhook is called, so writing the
# same exchange twice (a retry whose first answer was lost) stores it once.
_INSERT = (
    "INSERT INTO chat_logs (id, widget_id, user_id, message, response, confidence, status, "
    "                       response_time_ms, topic) "
    "VALUES (%(id)s, %(widget_id)s, %(session_id)s, %(message)s, %(response)s, %(confidence)s, "
    f"        %(status)s, %(response_time_ms)s, %(topic)s) ON CONFLICT (id) DO NOTHING RETURNING {_COLUMNS}"
)


async def insert_chat_log(conn: Conn, *, data: ChatLogCreate) -> ChatLog:
    """Record one exchange (once, however often it is called with the same id)."""
    cur = await conn.execute(_INSERT, data.model_dump())
    return await _inserted_or_existing(conn, await cur.fetchone(), data.id)


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
    if row is None:  # written by an earlier attempt
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
