"""Admin API: review chat logs and conversations, erase a visitor's conversation, bulk-delete a
widget's logs. Times are ISO 8601 with a timezone (a naive time answers 422: a review or an
erasure must not depend on whose clock was meant); ranges are [`from`, `to`)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import Path, Query
from pydantic import AwareDatetime

from shared.api.admin.routing import admin_router
from shared.api.auth_deps import AdminDep
from shared.api.resources import ResourcesDep
from shared.models import ChatStatus
from shared.models.admin import CursorPage, DeletedCounts, Page
from shared.models.admin.chat_logs import (
    ChatLogBulkDelete,
    ChatLogOut,
    Conversation,
    FeedbackFilter,
    SessionId,
)
from shared.services import conversations

router = admin_router("chat_logs")

Limit = Annotated[int, Query(ge=1, le=200, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]
From = Annotated[AwareDatetime | None, Query(alias="from", description="Inclusive start (with a timezone)")]
To = Annotated[AwareDatetime | None, Query(alias="to", description="Exclusive end (with a timezone)")]
WIDGET_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such widget (widget_not_found)"}
}


@router.get(
    "/chat-logs",
    response_model=CursorPage[ChatLogOut],
    summary="Review chat logs",
    responses={
        **WIDGET_NOT_FOUND,
        422: {
            "description": "Invalid filter: a naive or malformed time, `from` after `to` (invalid_range), "
            "session_id without widget_id (widget_required), or a bad cursor (invalid_cursor)"
        },
    },
)
async def list_chat_logs(
    admin: AdminDep,
    resources: ResourcesDep,
    widget_id: Annotated[UUID | None, Query()] = None,
    session_id: Annotated[SessionId | None, Query(description="Needs widget_id")] = None,
    start: From = None,
    end: To = None,
    status: Annotated[ChatStatus | None, Query()] = None,
    feedback: Annotated[FeedbackFilter | None, Query(description="`none`: no feedback given")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> CursorPage[ChatLogOut]:
    """Exchanges newest first, every field, across all widgets or one widget's (and one session's);
    pass `next_cursor` back as `cursor` for the next page."""
    return await conversations.list_chat_logs(
        resources.db,
        widget_id=widget_id,
        session_id=session_id,
        start=start,
        end=end,
        status=status,
        feedback=feedback,
        cursor=cursor,
        limit=limit,
    )


@router.get(
    "/widgets/{widget_id}/conversations",
    response_model=Page[Conversation],
    summary="A widget's conversations",
    responses={
        **WIDGET_NOT_FOUND,
        422: {"description": "A naive or malformed time, or `from` after `to` (invalid_range)"},
    },
)
async def list_conversations(
    widget_id: UUID,
    admin: AdminDep,
    resources: ResourcesDep,
    start: From = None,
    end: To = None,
    limit: Limit = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Page[Conversation]:
    """One row per visitor session with a message in the range: first and last message time,
    message and failed counts, thumbs up and down; the most recently active first."""
    return await conversations.list_conversations(
        resources.db, widget_id=widget_id, start=start, end=end, limit=limit, offset=offset
    )


@router.delete(
    "/widgets/{widget_id}/conversations/{session_id}",
    response_model=DeletedCounts,
    summary="Erase a visitor's conversation",
    responses=WIDGET_NOT_FOUND,
)
async def erase_conversation(
    widget_id: UUID,
    session_id: Annotated[SessionId, Path()],
    admin: AdminDep,
    resources: ResourcesDep,
) -> DeletedCounts:
    """Erase every chat log of one session of this widget (a visitor's erasure request) and say
    how many went. Idempotent: a session with nothing (left) to erase answers 200 with zero counts,
    so erasure tooling can simply retry. The same session id under another widget is untouched."""
    return await conversations.erase_conversation(
        resources.db, actor=admin, widget_id=widget_id, session_id=session_id
    )


@router.post(
    "/chat-logs/bulk-delete",
    response_model=DeletedCounts,
    summary="Bulk-delete a widget's chat logs",
    responses={
        **WIDGET_NOT_FOUND,
        422: {
            "description": "Neither `before`, `session_id(s)` nor `all: true`, `all` with a filter, "
            "or both `session_id` and `session_ids`"
        },
    },
)
async def bulk_delete_chat_logs(
    body: ChatLogBulkDelete, admin: AdminDep, resources: ResourcesDep
) -> DeletedCounts:
    """Delete a widget's chat logs created before `before` and/or of `session_id` (or of any of
    up to 1,000 `session_ids`), all at once or none. Deleting every log of the widget takes an explicit `"all": true` (alone), so an empty
    filter can never erase a widget's history by accident."""
    return await conversations.bulk_delete_chat_logs(
        resources.db, actor=admin, widget_id=body.widget_id, before=body.before, sessions=body.sessions
    )
