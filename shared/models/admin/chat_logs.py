"""The admin API's chat log review and erasure: one exchange as an admin sees it, one conversation
(a visitor session) of a widget, and the bulk delete request."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field, StringConstraints, model_validator

from shared.models.base import Model
from shared.models.chat_logs import ChatLog, ChatStatus, Feedback

# Session ids are opaque text (`chat_logs.user_id`); Postgres text cannot hold NUL.
SessionId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
# Feedback as a filter: thumbs up, thumbs down, or none given.
FeedbackFilter = Literal["up", "down", "none"]
# Sessions one bulk delete may name (as many as widgets in a widget bulk delete).
MAX_BULK_SESSIONS = 1000


class ChatLogOut(Model):
    """One exchange, every field (the session id is stored in `chat_logs.user_id`)."""

    id: UUID
    widget_id: UUID
    session_id: str | None
    message: str
    response: str
    status: ChatStatus
    confidence: float | None
    feedback: Feedback | None
    response_time_ms: int | None
    topic: str | None
    created_at: datetime

    @classmethod
    def of(cls, log: ChatLog) -> ChatLogOut:
        return cls(
            id=log.id,
            widget_id=log.widget_id,
            session_id=log.user_id,
            message=log.message,
            response=log.response,
            status=log.status,
            confidence=log.confidence,
            feedback=log.feedback,
            response_time_ms=log.response_time_ms,
            topic=log.topic,
            created_at=log.created_at,
        )


class FeedbackCounts(Model):
    up: int
    down: int


class Conversation(Model):
    """One visitor session of a widget: its messages within the requested range, summed up."""

    session_id: str
    first_message_at: datetime
    last_message_at: datetime
    message_count: int
    failed_count: int
    feedback: FeedbackCounts


class ChatLogBulkDelete(Model):
    """Which of a widget's chat logs to delete: those before a time and/or of some sessions (one
    `session_id`, or up to 1,000 `session_ids`), or, only when `all` is true (a guard against an
    accidentally empty filter), every one of them. One statement: all of it goes, or none."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    widget_id: UUID
    before: AwareDatetime | None = None
    session_id: SessionId | None = None
    session_ids: Annotated[list[SessionId], Field(min_length=1, max_length=MAX_BULK_SESSIONS)] | None = None
    all: bool = False

    @model_validator(mode="after")
    def _one_filter_or_all(self) -> ChatLogBulkDelete:
        if self.session_id is not None and self.session_ids is not None:
            raise ValueError("give `session_id` or `session_ids`, not both")
        has_filter = self.before is not None or self.sessions is not None
        if self.all and has_filter:
            raise ValueError("give either `all: true` or filters (before, session_id, session_ids), not both")
        if not self.all and not has_filter:
            raise ValueError(
                "give `before`, `session_id`, `session_ids`, or `all: true` to delete every log of the widget"
            )
        return self

    @property
    def sessions(self) -> list[str] | None:
        """The sessions whose logs go (None: any session)."""
        if self.session_id is not None:
            return [self.session_id]
        return self.session_ids
