"""Daily analytics rollups, and the rows the rollup computes and the reads compose."""

from dataclasses import dataclass
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


@dataclass(frozen=True)
class Segment:
    """A window of chat logs [lo, hi) whose computed rows carry the label `day`."""

    day: date
    lo: datetime
    hi: datetime


@dataclass
class RollupRow:
    """One widget's counters for one day (stored: a UTC day; computed live: a local day or part of
    one). Per-hour lists have 24 cells; histograms are sparse (bucket or hour * 10000 + bucket)."""

    widget_id: UUID
    date: date
    hour_messages: list[int]
    hour_chats: list[int]
    hour_failed: list[int]
    hour_conversations: list[int]
    hour_confidence_sum: list[float]
    hour_confidence_count: list[int]
    hour_positive: list[int]
    hour_negative: list[int]
    hour_response_sum: list[int]
    hour_response_count: list[int]
    response_buckets: list[int]
    response_bucket_counts: list[int]
    response_hour_buckets: list[int]
    response_hour_bucket_counts: list[int]
    top_questions: list[dict[str, Any]]
    top_topics: list[dict[str, Any]]
    knowledge_gaps: list[dict[str, Any]]
    # The day's p95 bucket, and the keys and counts of the three lists in their order (so reads merge
    # a range's lists without decoding JSON).
    p95_bucket: int | None
    question_keys: list[str]
    question_counts: list[int]
    gap_keys: list[str]
    gap_counts: list[int]
    topic_names: list[str]
    topic_counts: list[int]
    # The lists' wordings flat (each with the 1-based place of its key) and the gaps' details.
    question_text_keys: list[int]
    question_texts: list[str]
    question_text_counts: list[int]
    gap_failed: list[int]
    gap_low_confidence: list[int]
    gap_thumbs_down: list[int]
    gap_last_at: list[float]
    gap_last_reply: list[str | None]
    gap_last_reply_at: list[float | None]
    gap_text_keys: list[int]
    gap_texts: list[str]
    gap_text_counts: list[int]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "RollupRow":
        """From a database row (plain dataclass, no validation: reads compose thousands of them)."""
        return cls(**{name: row[name] for name in _ROW_FIELDS})


_ROW_FIELDS = tuple(RollupRow.__dataclass_fields__)


class WidgetRef(Model):
    """What an analytics answer says about a widget."""

    id: UUID
    client_id: UUID
    name: str
    is_active: bool
    is_demo: bool
