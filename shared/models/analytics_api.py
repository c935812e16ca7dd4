"""Request and response schemas of the analytics API (`/v1/analytics`, DESIGN.md "Analytics")."""

from datetime import date, datetime
from uuid import UUID

from pydantic import ConfigDict, Field

from shared.models.analytics import WidgetRef
from shared.models.base import Model


class Metrics(Model):
    """What totals and each day hold. Conversations are sessions counted where their first message
    falls (so they add up over any range); response times are of answered exchanges."""

    chats: int = Field(description="Answered exchanges")
    conversations: int = Field(description="Sessions whose first message falls in the period")
    failed: int = Field(description="Exchanges the workflow failed to answer")
    avg_confidence: float | None
    positive_feedback: int
    negative_feedback: int
    avg_response_time_ms: float | None
    p95_response_time_ms: float | None = Field(
        description="Nearest-rank 95th percentile: exact below 1 s, within 1 % above"
    )


class DailyMetrics(Metrics):
    date: date


class DateRangeOut(Model):
    model_config = ConfigDict(populate_by_name=True, defer_build=True)

    from_: date = Field(alias="from")
    to: date
    tz: str
    days: int


class TopQuestion(Model):
    question: str = Field(description="The most frequent original wording")
    normalized: str = Field(description="The normalised text the wordings share")
    count: int


class TopTopic(Model):
    topic: str
    count: int


class GapReasons(Model):
    failed: int
    low_confidence: int
    thumbs_down: int


class KnowledgeGap(Model):
    question: str
    normalized: str
    count: int = Field(description="Exchanges that failed, had low confidence or got a thumbs-down")
    reasons: GapReasons
    last_reply: str | None = Field(description="The bot's latest answer to it (none if it only failed)")
    last_asked_at: datetime


class WidgetAnalytics(Model):
    widget: WidgetRef
    range: DateRangeOut
    totals: Metrics
    daily: list[DailyMetrics]
    hourly: list[list[int]] = Field(description="7 x 24 messages: weekday (Monday first) x hour, local time")
    top_questions: list[TopQuestion]
    top_topics: list[TopTopic]
    knowledge_gaps: list[KnowledgeGap]


class WidgetChats(Model):
    id: UUID
    client_id: UUID
    name: str
    is_active: bool
    is_demo: bool
    chats_today: int
    chats_last_30_days: int


class WidgetList(Model):
    tz: str
    today: date
    widgets: list[WidgetChats]


class ClientRef(Model):
    id: UUID
    name: str


class WidgetTotals(Model):
    widget: WidgetRef
    totals: Metrics


class ClientAnalytics(Model):
    client: ClientRef
    range: DateRangeOut
    widgets: list[WidgetTotals]
    totals: Metrics
