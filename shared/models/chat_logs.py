"""Chat logs: one exchange between a visitor and a widget's workflow, and the visitor API's
requests and responses about them."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.models.base import Model

ChatStatus = Literal["answered", "failed"]
Feedback = Literal["up", "down"]


class ChatLog(Model):
    id: UUID
    widget_id: UUID
    user_id: str | None
    message: str
    response: str
    confidence: float | None
    feedback: Feedback | None
    status: ChatStatus
    response_time_ms: int | None
    topic: str | None
    created_at: datetime


class ChatLogCreate(Model):
    id: UUID
    widget_id: UUID
    session_id: str
    message: str
    response: str
    status: ChatStatus
    confidence: float | None = None
    topic: str | None = None
    response_time_ms: int | None = None
