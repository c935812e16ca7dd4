"""The visitor chat: send a message (relayed to n8n), read the session's history, give feedback."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from shared.api.public.deps import (
    PublicWidgetDep,
    SessionDep,
    VisitorDep,
    add_preflight,
    rate_limited,
)
from shared.api.resources import ResourcesDep, resources_of
from shared.errors import NotFoundError, PayloadTooLargeError, WidgetGoneError
from shared.http import client_ip, json_response
from shared.models.chat import (
    FeedbackRequest,
    FeedbackResponse,
    History,
    HistoryItem,
    MessageRequest,
    MessageResponse,
)
from shared.repositories import chat_logs
from shared.services import relay
from shared.services.chat import send_message
from shared.services.cursors import decode_cursor, encode_cursor

router = APIRouter(tags=["chat"])
MESSAGES = "/v1/widgets/{widget_id}/messages"
FEEDBACK = "/v1/widgets/{widget_id}/messages/{message_id}/feedback"
MAX_MESSAGE_CHARS = 4000


@router.post(
    MESSAGES,
    response_model=MessageResponse,
    responses={
        413: {"description": "Message over 4,000 characters"},
        429: {"description": "Rate limited; see Retry-After"},
        502: {"description": "The workflow failed; error.message is the widget's fallback message"},
        503: {
            "description": "Too many calls to the workflow in flight (bot_busy; error.message is the "
            "fallback), or the database is briefly unavailable (database_unavailable); see Retry-After"
        },
        504: {"description": "The workflow timed out; error.message is the fallback message"},
    },
)
async def post_message(body: MessageRequest, visitor: VisitorDep, request: Request) -> Response:
    """Send the visitor's message to the widget's n8n workflow and answer with its reply."""
    widget, session = visitor.widget, visitor.session
    if len(body.message) > MAX_MESSAGE_CHARS:
        raise PayloadTooLargeError(
            f"Messages are limited to {MAX_MESSAGE_CHARS:,} characters.", code="message_too_long"
        )
    resources = resources_of(request)
    settings = resources.settings
    try:
        log = await send_message(
            resources.db,
            resources.relay,
            widget=widget,
            session_id=session.session_id,
            text=body.message,
            page=relay.PageContext(page_url=body.metadata.page_url, locale=body.metadata.locale),
            ip=client_ip(request, settings.client_ip_header),
            timeout_seconds=settings.webhook_timeout_seconds,
            settings=settings,
        )
    except WidgetGoneError:
        resources.widgets.forget(widget.id)  # later messages answer 404 at once
        raise
    return json_response(
        MessageResponse(
            message_id=log.id, reply=log.response, confidence=log.confidence, created_at=log.created_at
        )
    )


@router.get(MESSAGES, response_model=History, dependencies=[rate_limited("history")])
async def get_history(
    widget: PublicWidgetDep,
    session: SessionDep,
    resources: ResourcesDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> History:
    """The session's exchanges from our own logs, oldest first; pass `next_cursor` for more.
    Reads count against the widget's `per_ip_reads_per_minute`."""
    logs = await resources.db.run(
        chat_logs.list_session_history,
        widget_id=widget.id,
        session_id=session.session_id,
        limit=limit,
        after=decode_cursor(cursor) if cursor else None,
    )
    items = [
        HistoryItem(
            message_id=log.id,
            message=log.message,
            reply=log.response if log.status == "answered" else None,
            status=log.status,
            confidence=log.confidence,
            feedback=log.feedback,
            created_at=log.created_at,
        )
        for log in logs
    ]
    next_cursor = encode_cursor(logs[-1].created_at, logs[-1].id) if len(logs) == limit else None
    return History(messages=items, next_cursor=next_cursor)


@router.post(FEEDBACK, response_model=FeedbackResponse, dependencies=[rate_limited("feedback")])
async def post_feedback(
    message_id: UUID,
    body: FeedbackRequest,
    widget: PublicWidgetDep,
    session: SessionDep,
    resources: ResourcesDep,
) -> FeedbackResponse:
    """Thumbs up or down on one reply of this session (another session's message is not found).
    Counts against the widget's `per_ip_feedback_per_minute`."""
    found = await resources.db.run(
        chat_logs.set_feedback,
        widget_id=widget.id,
        session_id=session.session_id,
        message_id=message_id,
        value=body.value,
    )
    if not found:
        raise NotFoundError("No such message in this conversation.", code="message_not_found")
    return FeedbackResponse(message_id=message_id, feedback=body.value)


add_preflight(router, MESSAGES, "GET, POST")
add_preflight(router, FEEDBACK, "POST")
