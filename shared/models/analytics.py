"""Daily analytics rollups."""

from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.models.base import (
    Model,
)


class AnalyticsDay(Model):
    widget_id: UUID
    date: date
    num_chats: int
    num_conversations: int
    num_failed: int
    avg_confidence: float | None
    positive_feedback: int
    negative_feedback: int
    avg_response_time_ms: float | None
    p95_response_time_ms: float | None
    most_common_questions: list[dict[str, Any]]
    top_topics: list[dict[str, Any]]
    updated_at: datetime
