"""The visitor chat API's requests and responses (POST/GET messages, feedback). Built at import,
not deferred: FastAPI wraps body models itself; only the chat function imports this module."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints

from shared.models.base import Model
from shared.models.chat_logs import ChatStatus, Feedback


class MessageMetadata(Model):
    model_config = ConfigDict(extra="ignore", defer_build=False)  # FastAPI wraps body models itself

    page_url: Annotated[str, StringConstraints(max_length=2000)] | None = None
    locale: Annotated[str, StringConstraints(max_length=35)] | None = None


class MessageRequest(Model):
    model_config = ConfigDict(extra="ignore", defer_build=False)  # FastAPI wraps body models itself

    # Postgres text cannot hold NUL; refuse it here rather than after the webhook was called.
    message: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, pattern=r"^[^\x00]*$")]
    metadata: MessageMetadata = Field(default_factory=MessageMetadata)


class MessageResponse(Model):
    message_id: UUID
    reply: str
    confidence: float | None
    created_at: datetime


class HistoryItem(Model):
    message_id: UUID
    message: str
    reply: str | None
    status: ChatStatus
    confidence: float | None
    feedback: Feedback | None
    created_at: datetime


class History(Model):
    messages: list[HistoryItem]
    next_cursor: str | None


class FeedbackRequest(Model):
    model_config = ConfigDict(extra="forbid", defer_build=False)  # FastAPI wraps body models itself

    value: Literal["up", "down"]


class FeedbackResponse(Model):
    message_id: UUID
    feedback: Feedback
