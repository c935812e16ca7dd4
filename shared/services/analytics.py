"""The analytics reads (README "Analytics"): a range in a time zone, composed from the stored daily
rollups plus rows computed live (by the rollup's own query) for whatever no settled stored row
covers, inside one read-only transaction.

- A stored row is a UTC day with 24 per-hour cells of additive counters; a whole-hour time zone
  composes them exactly into local days and the weekday x hour grid. Zones with other offsets
  (Asia/Kolkata) read the whole range live.
- A UTC day is read from storage only when it lies entirely inside the range and was rolled up at
  least `SETTLE_MARGIN` after it ended (`analytics_rollup_days`); anything else (today, a day the
  job missed, the partial UTC days at the edges of a shifted range) is computed live over exactly
  that window.
- p95 is the nearest-rank percentile of the merged response-time histograms of the range (exact
  below 1 s, buckets 1 % wide above), never an average of daily figures.
"""

from __future__ import annotations

import csv
import io
import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.db import Conn, Database
from shared.errors import NotFoundError, UnprocessableError
from shared.models import User
from shared.models.analytics import RollupRow, Segment
from shared.models.analytics_api import (
    ClientAnalytics,
    ClientRef,
    DailyMetrics,
    DateRangeOut,
    GapReasons,
    KnowledgeGap,
    Metrics,
    TopQuestion,
    TopTopic,
    WidgetAnalytics,
    WidgetChats,
    WidgetList,
    WidgetTotals,
)
from shared.repositories import analytics
from shared.services import questions

MAX_DAYS = 366
DEFAULT_DAYS = 30
# A day is read from storage once rolled up this long after it ended (late writes of slow exchanges).
SETTLE_MARGIN = timedelta(minutes=5)
TOP_QUESTIONS = 10
TOP_TOPICS = 10
TOP_GAPS = 20
EARLIEST = date(2000, 1, 1)
LATEST = date(2100, 12, 31)
WIDGET_NOT_FOUND = "No such widget."
CLIENT_NOT_FOUND = "No such client."
_HOUR = 3600


@dataclass(frozen=True)
class DateRange:
    """Local days `first`..`last` in `tz`, and the UTC instants [start, end) they cover."""

    first: date
    last: date
    tz_name: str
    tz: ZoneInfo
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def out(self) -> DateRangeOut:
        return DateRangeOut(from_=self.first, to=self.last, tz=self.tz_name, days=self.days)


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name` (422 when there is none)."""
    if not name or len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name) or ".." in name:
        raise UnprocessableError(f"Unknown time zone {name[:64]!r}.", code="invalid_time_zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnprocessableError(f"Unknown time zone {name!r}.", code="invalid_time_zone") from None


def date_range(first: date | None, last: date | None, tz_name: str, *, now: datetime) -> DateRange:
    """The range asked for (default: the last 30 days up to today in `tz`); 422 when the zone is
    unknown, `from` is after `to`, or it spans more than 366 days."""
    tz = zone(tz_name)
    last = last or now.astimezone(tz).date()
    first = first or max(EARLIEST, last - timedelta(days=DEFAULT_DAYS - 1))
    if not (EARLIEST <= first <= LATEST and EARLIEST <= last <= LATEST):
        raise UnprocessableError(f"Dates must lie between {EARLIEST} and {LATEST}.", code="invalid_range")
    if first > last:
        raise UnprocessableError("'from' is after 'to'.", code="invalid_range")
    if (last - first).days + 1 > MAX_DAYS:
        raise UnprocessableError(f"A range spans at most {MAX_DAYS} days.", code="invalid_range")
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    return DateRange(first, last, tz_name, tz, start, end)


# --- composition -------------------------------------------------------------------------------


def bucket_value(bucket: int) -> float:
    """The response time a histogram bucket stands for: itself below 1 s, else its lower bound."""
    return float(bucket) if bucket < 1000 else float(round(1000 * 1.01 ** (bucket - 1000)))


def p95(histogram: dict[int, int]) -> float | None:
    """Nearest-rank 95th percentile of a bucket -> count histogram (None when empty)."""
    if not histogram:
        return None
    buckets = sorted(histogram)
    cumulative = list(accumulate(histogram[b] for b in buckets))
    rank = math.ceil(0.95 * cumulative[-1])
    return bucket_value(buckets[bisect_left(cumulative, rank)])


@dataclass
class _Sums:
    """Additive counters of one period (a local day, or a whole range)."""

    messages: int = 0
    chats: int = 0
    failed: int = 0
    conversations: int = 0
    confidence_sum: float = 0.0
    confidence_count: int = 0
    positive: int = 0
    negative: int = 0
    response_sum: int = 0
    response_count: int = 0
    histogram: dict[int, int] = field(default_factory=dict)

    def add(self, other: _Sums) -> None:
        self.messages += other.messages
        self.chats += other.chats
        self.failed += other.failed
        self.conversations += other.conversations
        self.confidence_sum += other.confidence_sum
        self.confidence_count += other.confidence_count
        self.positive += other.positive
        self.negative += other.negative
        self.response_sum += other.response_sum
        self.response_count += other.response_count
        histogram = self.histogram
        for bucket, count in other.histogram.items():
            histogram[bucket] = histogram.get(bucket, 0) + count

    def metrics(self) -> Metrics:
        return Metrics(**self._fields())

    def daily(self, day: date) -> DailyMetrics:
        return DailyMetrics(date=day, **self._fields())

    def _fields(self) -> dict[str, Any]:
        return {
            "chats": self.chats,
            "conversations": self.conversations,
            "failed": self.failed,
            "avg_confidence": (
                round(self.confidence_sum / self.confidence_count, 4) if self.confidence_count else None
            ),
            "positive_feedback": self.positive,
            "negative_feedback": self.negative,
            "avg_response_time_ms": (
                round(self.response_sum / self.response_count, 1) if self.response_count else None
            ),
            "p95_response_time_ms": p95(self.histogram),
        }


@dataclass
class _Lists:
    """Top questions, topics and knowledge gaps merged over rows."""

    questions: dict[str, list[Any]] = field(default_factory=dict)  # key -> [count, {wording: count}]
    topics: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add(self, row: RollupRow) -> None:
        for item in row.top_questions:
            entry = self.questions.setdefault(item["key"], [0, {}])
            entry[0] += item["count"]
            texts = entry[1]
            for text, count in item["texts"]:
                texts[text] = texts.get(text, 0) + count
        for item in row.top_topics:
            self.topics[item["topic"]] = self.topics.get(item["topic"], 0) + item["count"]
        for item in row.knowledge_gaps:
            gap = self.gaps.get(item["key"])
            if gap is None:
                gap = self.gaps[item["key"]] = {
                    "count": 0, "failed": 0, "low_confidence": 0, "thumbs_down": 0, "texts": {},
                    "last_at": 0.0, "last_reply": None, "last_reply_at": -1.0,
                }  # fmt: skip
            for name in ("count", "failed", "low_confidence", "thumbs_down"):
                gap[name] += item[name]
            for text, count in item["texts"]:
                gap["texts"][text] = gap["texts"].get(text, 0) + count
            gap["last_at"] = max(gap["last_at"], item["last_at"])
            if item["last_reply_at"] is not None and item["last_reply_at"] > gap["last_reply_at"]:
                gap["last_reply"], gap["last_reply_at"] = item["last_reply"], item["last_reply_at"]

    def top_questions(self) -> list[TopQuestion]:
        ranked = sorted(self.questions.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_QUESTIONS]
        return [TopQuestion(question=_wording(texts), normalized=key, count=n) for key, (n, texts) in ranked]

    def top_topics(self) -> list[TopTopic]:
        ranked = sorted(self.topics.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TOPICS]
        return [TopTopic(topic=topic, count=n) for topic, n in ranked]

    def knowledge_gaps(self) -> list[KnowledgeGap]:
        ranked = sorted(self.gaps.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:TOP_GAPS]
        return [
            KnowledgeGap(
                question=_wording(gap["texts"]),
                normalized=key,
                count=gap["count"],
                reasons=GapReasons(
                    failed=gap["failed"], low_confidence=gap["low_confidence"], thumbs_down=gap["thumbs_down"]
                ),
                last_reply=gap["last_reply"],
                last_asked_at=datetime.fromtimestamp(gap["last_at"], UTC),
            )
            for key, gap in ranked
        ]


def _wording(texts: dict[str, int]) -> str:
    """The most frequent wording (ties: the first in text order)."""
    return min(texts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


@dataclass
class _Composed:
    """One widget's range: its local days, weekday x hour grid and lists."""

    days: dict[date, _Sums] = field(default_factory=dict)
    grid: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    lists: _Lists = field(default_factory=_Lists)

    def totals(self) -> _Sums:
        total = _Sums()
        for sums in self.days.values():
            total.add(sums)
        return total


# A run of a row's hours that fall on one local day: (local date, first hour, end hour, local hour of
# the first hour).
_Run = tuple[date, int, int, int]


def _runs(day: date, tz: ZoneInfo, cache: dict[date, list[_Run]]) -> list[_Run]:
    """How the 24 UTC hours of stored day `day` fall on local days and hours in `tz`."""
    runs = cache.get(day)
    if runs is not None:
        return runs
    start = datetime.combine(day, time(), UTC)
    offsets = {tz.utcoffset(start), tz.utcoffset(start + timedelta(hours=23))}
    if len(offsets) == 1:  # no transition that day: a fixed shift
        shift = int(next(iter(offsets)).total_seconds()) // _HOUR  # type: ignore[union-attr]
        first_local = start + timedelta(hours=shift)
        cut = 24 - first_local.hour
        runs = [(first_local.date(), 0, min(cut, 24), first_local.hour)]
        if cut < 24:
            runs.append((first_local.date() + timedelta(days=1), cut, 24, 0))
    else:
        runs = []
        for hour in range(24):
            local = (start + timedelta(hours=hour)).astimezone(tz)
            last = runs[-1] if runs else None
            if last and last[0] == local.date() and last[3] + (last[2] - last[1]) == local.hour:
                runs[-1] = (last[0], last[1], hour + 1, last[3])
            else:
                runs.append((local.date(), hour, hour + 1, local.hour))
    cache[day] = runs
    return runs


def _add_row(composed: _Composed, row: RollupRow, runs: list[_Run], lists: bool) -> None:
    for local_day, lo, hi, local_hour in runs:
        sums = composed.days.get(local_day)
        if sums is None:
            sums = composed.days[local_day] = _Sums()
        whole = lo == 0 and hi == 24
        sums.messages += sum(row.hour_messages[lo:hi])
        sums.chats += sum(row.hour_chats[lo:hi])
        sums.failed += sum(row.hour_failed[lo:hi])
        sums.conversations += sum(row.hour_conversations[lo:hi])
        sums.confidence_sum += math.fsum(row.hour_confidence_sum[lo:hi])
        sums.confidence_count += sum(row.hour_confidence_count[lo:hi])
        sums.positive += sum(row.hour_positive[lo:hi])
        sums.negative += sum(row.hour_negative[lo:hi])
        sums.response_sum += sum(row.hour_response_sum[lo:hi])
        sums.response_count += sum(row.hour_response_count[lo:hi])
        histogram = sums.histogram
        if whole:
            for bucket, count in zip(row.response_buckets, row.response_bucket_counts, strict=True):
                histogram[bucket] = histogram.get(bucket, 0) + count
        else:
            for key, count in zip(row.response_hour_buckets, row.response_hour_bucket_counts, strict=True):
                if lo <= key // 10000 < hi:
                    bucket = key % 10000
                    histogram[bucket] = histogram.get(bucket, 0) + count
        cells = composed.grid[local_day.weekday()]
        messages = row.hour_messages
        for offset in range(hi - lo):
            cells[local_hour + offset] += messages[lo + offset]
    if lists:
        composed.lists.add(row)


def _whole_hours(rng: DateRange) -> bool:
    """Whether the zone's offset is a whole number of hours throughout the range."""
    if rng.tz_name == "UTC":
        return True
    moment = rng.start
    while moment <= rng.end:
        offset = rng.tz.utcoffset(moment)
        if offset is None or int(offset.total_seconds()) % _HOUR:
            return False
        moment += timedelta(days=1)
    offset = rng.tz.utcoffset(rng.end)
    return offset is not None and int(offset.total_seconds()) % _HOUR == 0


def _segments(intervals: Iterable[tuple[datetime, datetime]], tz: ZoneInfo) -> list[Segment]:
    """Live windows, merged where they touch and cut at local midnights (labelled by local date)."""
    merged: list[list[datetime]] = []
    for lo, hi in intervals:
        if merged and merged[-1][1] == lo:
            merged[-1][1] = hi
        else:
            merged.append([lo, hi])
    segments = []
    for lo, hi in merged:
        while lo < hi:
            local_day = lo.astimezone(tz).date()
            boundary = datetime.combine(local_day + timedelta(days=1), time(), tz).astimezone(UTC)
            segments.append(Segment(local_day, lo, min(hi, boundary)))
            lo = min(hi, boundary)
    return segments


async def _compose(
    conn: Conn, widget_ids: Sequence[UUID], rng: DateRange, *, lists: bool
) -> dict[UUID, _Composed]:
    """Each widget's range, from settled stored days plus live rows for the rest."""
    composed = {widget_id: _Composed() for widget_id in widget_ids}
    if not widget_ids:
        return composed
    first_utc, last_utc = rng.start.date(), (rng.end - timedelta(microseconds=1)).date()
    stored: set[date] = set()
    live: list[tuple[datetime, datetime]] = []
    if _whole_hours(rng):
        settled = await analytics.rolled_up_days(conn, first=first_utc, last=last_utc)
        day = first_utc
        while day <= last_utc:
            lo = datetime.combine(day, time(), UTC)
            hi = lo + timedelta(days=1)
            rolled_up_at = settled.get(day)
            if lo >= rng.start and hi <= rng.end and rolled_up_at and rolled_up_at >= hi + SETTLE_MARGIN:
                stored.add(day)
            else:
                live.append((max(lo, rng.start), min(hi, rng.end)))
            day += timedelta(days=1)
    else:
        live.append((rng.start, rng.end))
    cache: dict[date, list[_Run]] = {}
    utc = rng.tz_name == "UTC"
    if stored:
        for row in await analytics.list_rows(
            conn, widget_ids=widget_ids, first=min(stored), last=max(stored)
        ):
            if row.date in stored:
                runs = [(row.date, 0, 24, 0)] if utc else _runs(row.date, rng.tz, cache)
                _add_row(composed[row.widget_id], row, runs, lists)
    segments = _segments(live, rng.tz)
    rows = await analytics.compute_rows(
        conn,
        segments=segments,
        tz=rng.tz_name,
        widget_ids=widget_ids,
        question_sql=questions.SQL_TEMPLATE,
        question_params=questions.SQL_PARAMS,
    )
    for row in rows:  # hours already in local wall-clock time, one local day per row
        _add_row(composed[row.widget_id], row, [(row.date, 0, 24, 0)], lists)
    return composed


def _daily(composed: _Composed, rng: DateRange) -> list[DailyMetrics]:
    empty = _Sums()
    return [
        composed.days.get(rng.first + timedelta(days=n), empty).daily(rng.first + timedelta(days=n))
        for n in range(rng.days)
    ]


# --- access and reads --------------------------------------------------------------------------


def _may_see(user: User, client_id: UUID) -> bool:
    return user.role == "admin" or (user.client_id is not None and user.client_id == client_id)


async def widget_analytics(db: Database, *, user: User, widget_id: UUID, rng: DateRange) -> WidgetAnalytics:
    """One widget's range; 404 (the same answer whether or not it exists) when `user` may not see it."""

    async def read(conn: Conn) -> WidgetAnalytics:
        async with analytics.read_only(conn):
            widget = await analytics.get_widget_ref(conn, widget_id=widget_id)
            if widget is None or not _may_see(user, widget.client_id):
                raise NotFoundError(WIDGET_NOT_FOUND)
            composed = (await _compose(conn, [widget.id], rng, lists=True))[widget.id]
        return WidgetAnalytics(
            widget=widget,
            range=rng.out(),
            totals=composed.totals().metrics(),
            daily=_daily(composed, rng),
            hourly=composed.grid,
            top_questions=composed.lists.top_questions(),
            top_topics=composed.lists.top_topics(),
            knowledge_gaps=composed.lists.knowledge_gaps(),
        )

    return await db.run(read)


async def widget_list(db: Database, *, user: User, tz_name: str, now: datetime) -> WidgetList:
    """The widgets `user` may see, with today's and the last 30 days' chats (local days in `tz`)."""
    rng = date_range(None, None, tz_name, now=now)

    async def read(conn: Conn) -> WidgetList:
        async with analytics.read_only(conn):
            if user.role == "admin":
                widgets = await analytics.list_widget_refs(conn, client_id=None)
            elif user.client_id is not None:
                widgets = await analytics.list_widget_refs(conn, client_id=user.client_id)
            else:
                widgets = []
            composed = await _compose(conn, [w.id for w in widgets], rng, lists=False)
        items = []
        for widget in widgets:
            days = composed[widget.id].days
            today = days.get(rng.last)
            items.append(
                WidgetChats(
                    **widget.model_dump(),
                    chats_today=today.chats if today else 0,
                    chats_last_30_days=sum(sums.chats for sums in days.values()),
                )
            )
        return WidgetList(tz=rng.tz_name, today=rng.last, widgets=items)

    return await db.run(read)


async def client_analytics(db: Database, *, user: User, client_id: UUID, rng: DateRange) -> ClientAnalytics:
    """Per-widget totals of a client and the client's total; 404 (the same answer whether or not it
    exists) when `user` may not see it."""

    async def read(conn: Conn) -> ClientAnalytics:
        async with analytics.read_only(conn):
            name = (
                await analytics.get_client_name(conn, client_id=client_id)
                if _may_see(user, client_id)
                else None
            )
            if name is None:
                raise NotFoundError(CLIENT_NOT_FOUND)
            widgets = await analytics.list_widget_refs(conn, client_id=client_id)
            composed = await _compose(conn, [w.id for w in widgets], rng, lists=False)
        total = _Sums()
        per_widget = []
        for widget in widgets:
            sums = composed[widget.id].totals()
            total.add(sums)
            per_widget.append(WidgetTotals(widget=widget, totals=sums.metrics()))
        return ClientAnalytics(
            client=ClientRef(id=client_id, name=name),
            range=rng.out(),
            widgets=per_widget,
            totals=total.metrics(),
        )

    return await db.run(read)


# --- CSV ---------------------------------------------------------------------------------------

METRIC_COLUMNS = (
    "chats",
    "conversations",
    "failed",
    "avg_confidence",
    "positive_feedback",
    "negative_feedback",
    "avg_response_time_ms",
    "p95_response_time_ms",
)


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: text starting with = + - @ (or a tab or carriage
    return) gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(value) for value in row] for row in rows)
    return out.getvalue()


def _metric_cells(metrics: Metrics) -> list[object]:
    return [getattr(metrics, name) for name in METRIC_COLUMNS]


def widget_csv(result: WidgetAnalytics) -> str:
    """The daily series of a widget's range."""
    return _csv(
        ("date", *METRIC_COLUMNS),
        ([day.date.isoformat(), *_metric_cells(day)] for day in result.daily),
    )


def client_csv(result: ClientAnalytics) -> str:
    """Per-widget totals of a client, then the client's total."""
    rows: list[list[object]] = [
        [str(item.widget.id), item.widget.name, *_metric_cells(item.totals)] for item in result.widgets
    ]
    rows.append(["", "total", *_metric_cells(result.totals)])
    return _csv(("widget_id", "widget_name", *METRIC_COLUMNS), rows)


def file_name(kind: str, name: str, rng: DateRange) -> str:
    """A safe download name: analytics-<kind>-<name>-<from>-<to>.csv (ASCII letters, digits, -)."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or kind
    return f"analytics-{kind}-{slug}-{rng.first.isoformat()}-{rng.last.isoformat()}.csv"
