"""The analytics reads (README "Analytics"): a range in a time zone, composed from the stored daily
rollups plus rows computed live (by the rollup's own query) for whatever no stored row covers,
inside one read-only transaction. What a read costs depends on the range, not on how many logs
there are: stored days are merged in SQL and only small results come back.

- A stored row is a UTC day with 24 per-hour cells of additive counters; a whole-hour time zone
  moves them exactly into local days and the weekday x hour grid. Zones with other offsets
  (Asia/Kolkata) read the whole range live.
- A UTC day lying entirely inside the range is read from storage for [day, covered_until)
  (`analytics_rollup_days`: up to `rollup.SETTLE_MARGIN` before its last rollup, the whole day once
  settled); the rest of it, a day the job missed and the partial UTC days at the edges of a shifted
  range are computed live over exactly that window.
- p95 is the nearest-rank percentile of the merged response-time histograms of the range (exact
  below 1 s, buckets 1 % wide above), never an average of daily figures: the stored days' histogram
  is the difference of two running totals, plus the live rows'.
- Lists merge the stored days' counts in SQL with the live rows' (sent along), and come back as
  the counts, wordings and gap details of only the keys that rank, in one statement. Stored days
  are read through the rollup's blocks of 8 to 128 days where whole blocks fit (their exact sums),
  so a 90-day range reads ~5 blocks and a few days rather than 90 days.
- A read is a handful of statements whatever the range: BEGIN READ ONLY, the widget, the covered
  days with the range's latest log (live rows are computed only when a log lies past the cover),
  the stored days (UTC: per-day totals, hourly messages, p95 buckets and the range histogram in
  one statement), the lists, COMMIT.
"""

from __future__ import annotations

import csv
import io
import math
import operator
import re
from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping, Sequence
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
    DateRangeOut,
    Metrics,
    WidgetAnalytics,
    WidgetChats,
    WidgetList,
)
from shared.repositories import analytics

MAX_DAYS = 366
DEFAULT_DAYS = 30
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


@dataclass(slots=True)
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
    # A stored day's p95 bucket, read instead of its histogram (which is then left empty).
    p95_bucket: int | None = None

    def add_counters(self, other: _Sums) -> None:
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

    def add_row(self, row: Mapping[str, Any]) -> None:
        """Add a stored row's counters (`repositories.analytics`' rows name them as these fields)."""
        self.messages += row["messages"]
        self.chats += row["chats"]
        self.failed += row["failed"]
        self.conversations += row["conversations"]
        self.confidence_sum += row["confidence_sum"]
        self.confidence_count += row["confidence_count"]
        self.positive += row["positive"]
        self.negative += row["negative"]
        self.response_sum += row["response_sum"]
        self.response_count += row["response_count"]

    def add(self, other: _Sums) -> None:
        self.add_counters(other)
        _merge(self.histogram, other.histogram.items())

    def metrics(self) -> dict[str, Any]:
        """The period's `Metrics`, as plain data: answers are validated once, as a whole (a 90-day
        answer has 90 of them)."""
        if self.histogram or self.p95_bucket is None:
            p95_ms = p95(self.histogram)
        else:
            p95_ms = bucket_value(self.p95_bucket)
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
            "p95_response_time_ms": p95_ms,
        }


def _merge(histogram: dict[int, int], pairs: Iterable[tuple[int, int]]) -> None:
    for bucket, count in pairs:
        histogram[bucket] = histogram.get(bucket, 0) + count


_KINDS = ("question", "gap", "topic")
_TOPS = {"question": TOP_QUESTIONS, "gap": TOP_GAPS, "topic": TOP_TOPICS}


@dataclass
class _Lists:
    """Top questions, topics and knowledge gaps merged over rows: the live rows' whole lists, and the
    stored days' counts of the keys that can still rank, then the details of those that do."""

    questions: dict[str, list[Any]] = field(default_factory=dict)  # key -> [count, {wording: count}]
    topics: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def _gap(self, key: str) -> dict[str, Any]:
        gap = self.gaps.get(key)
        if gap is None:
            gap = self.gaps[key] = {
                "count": 0, "failed": 0, "low_confidence": 0, "thumbs_down": 0, "texts": {},
                "last_at": 0.0, "last_reply": None, "last_reply_at": -1.0,
            }  # fmt: skip
        return gap

    def add(self, row: RollupRow) -> None:
        for item in row.top_questions:
            entry = self.questions.setdefault(item["key"], [0, {}])
            entry[0] += item["count"]
            _merge(entry[1], item["texts"])
        for item in row.top_topics:
            self.topics[item["topic"]] = self.topics.get(item["topic"], 0) + item["count"]
        for item in row.knowledge_gaps:
            gap = self._gap(item["key"])
            for name in ("count", "failed", "low_confidence", "thumbs_down"):
                gap[name] += item[name]
            _merge(gap["texts"], item["texts"])
            self._seen(gap, item)

    @staticmethod
    def _seen(gap: dict[str, Any], item: Mapping[str, Any]) -> None:
        gap["last_at"] = max(gap["last_at"], item["last_at"])
        if item["last_reply_at"] is not None and item["last_reply_at"] > gap["last_reply_at"]:
            gap["last_reply"], gap["last_reply_at"] = item["last_reply"], item["last_reply_at"]

    def live_counts(self) -> list[tuple[str, str, int]]:
        """Every (kind, key, count) held so far (the live rows')."""
        return [
            *(("question", key, entry[0]) for key, entry in self.questions.items()),
            *(("gap", key, gap["count"]) for key, gap in self.gaps.items()),
            *(("topic", key, n) for key, n in self.topics.items()),
        ]

    def add_count(self, kind: str, key: str, count: int) -> None:
        if kind == "question":
            self.questions.setdefault(key, [0, {}])[0] += count
        elif kind == "gap":
            self._gap(key)["count"] += count
        else:
            self.topics[key] = self.topics.get(key, 0) + count

    def add_text(self, kind: str, key: str, text: str, count: int) -> None:
        texts = self.questions[key][1] if kind == "question" else self._gap(key)["texts"]
        texts[text] = texts.get(text, 0) + count

    def add_gap_details(self, item: Mapping[str, Any]) -> None:
        gap = self._gap(item["key"])
        for name in ("failed", "low_confidence", "thumbs_down"):
            gap[name] += item[name]
        self._seen(gap, item)

    def _ranked_questions(self) -> list[tuple[str, list[Any]]]:
        return sorted(self.questions.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP_QUESTIONS]

    def _ranked_gaps(self) -> list[tuple[str, dict[str, Any]]]:
        return sorted(self.gaps.items(), key=lambda kv: (-kv[1]["count"], kv[0]))[:TOP_GAPS]

    # The lists as plain data (`TopQuestion`, `TopTopic`, `KnowledgeGap`), validated with the answer.

    def top_questions(self) -> list[dict[str, Any]]:
        return [
            {"question": _wording(texts), "normalized": key, "count": n}
            for key, (n, texts) in self._ranked_questions()
        ]

    def top_topics(self) -> list[dict[str, Any]]:
        ranked = sorted(self.topics.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_TOPICS]
        return [{"topic": topic, "count": n} for topic, n in ranked]

    def knowledge_gaps(self) -> list[dict[str, Any]]:
        return [
            {
                "question": _wording(gap["texts"]),
                "normalized": key,
                "count": gap["count"],
                "reasons": {
                    "failed": gap["failed"],
                    "low_confidence": gap["low_confidence"],
                    "thumbs_down": gap["thumbs_down"],
                },
                "last_reply": gap["last_reply"],
                "last_asked_at": datetime.fromtimestamp(gap["last_at"], UTC),
            }
            for key, gap in self._ranked_gaps()
        ]


def _wording(texts: dict[str, int]) -> str:
    """The most frequent wording (ties: the first in text order)."""
    return min(texts.items(), key=lambda kv: (-kv[1], kv[0]))[0]


@dataclass
class _Composed:
    """One widget's range: its local days, weekday x hour grid, response-time histogram and lists."""

    days: dict[date, _Sums] = field(default_factory=dict)
    grid: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])
    histogram: dict[int, int] = field(default_factory=dict)
    lists: _Lists = field(default_factory=_Lists)

    def day(self, day: date) -> _Sums:
        sums = self.days.get(day)
        if sums is None:
            sums = self.days[day] = _Sums()
        return sums

    def totals(self) -> _Sums:
        total = _Sums(histogram=dict(self.histogram))
        for sums in self.days.values():
            total.add_counters(sums)
        return total


def _add_live_row(composed: _Composed, row: RollupRow, lists: bool) -> None:
    """A row computed live: one local day, its hours already in local wall-clock time."""
    sums = composed.day(row.date)
    sums.messages += sum(row.hour_messages)
    sums.chats += sum(row.hour_chats)
    sums.failed += sum(row.hour_failed)
    sums.conversations += sum(row.hour_conversations)
    sums.confidence_sum += math.fsum(row.hour_confidence_sum)
    sums.confidence_count += sum(row.hour_confidence_count)
    sums.positive += sum(row.hour_positive)
    sums.negative += sum(row.hour_negative)
    sums.response_sum += sum(row.hour_response_sum)
    sums.response_count += sum(row.hour_response_count)
    pairs = list(zip(row.response_buckets, row.response_bucket_counts, strict=True))
    _merge(sums.histogram, pairs)
    _merge(composed.histogram, pairs)
    cells = composed.grid[row.date.weekday()]
    for hour, messages in enumerate(row.hour_messages):
        cells[hour] += messages
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


def _cover_span(rng: DateRange) -> dict[str, Any]:
    """covered_days' span of a range: its UTC days and instants."""
    return {
        "first": rng.start.date(),
        "last": (rng.end - timedelta(microseconds=1)).date(),
        "start": rng.start,
        "end": rng.end,
    }


def _split(covered: Mapping[date, datetime], rng: DateRange) -> tuple[list[date], list[Segment]]:
    """The UTC days read from storage (each covering [day, covered_until)), and the live segments:
    what of the range no stored row covers (the rest of today, a day the job missed, the partial UTC
    days at the edges of a shifted range, or all of it in a zone with other offsets)."""
    stored: list[date] = []
    live: list[tuple[datetime, datetime]] = []
    if _whole_hours(rng):
        one_day = timedelta(days=1)
        day, last = rng.start.date(), (rng.end - timedelta(microseconds=1)).date()
        lo = datetime.combine(day, time(), UTC)
        while day <= last:
            hi = lo + one_day
            until = covered.get(day)
            if lo >= rng.start and hi <= rng.end and until is not None and until > lo:
                stored.append(day)
                if until < hi:
                    live.append((until, hi))
            else:
                live.append((max(lo, rng.start), min(hi, rng.end)))
            day, lo = day + one_day, hi
    else:
        live.append((rng.start, rng.end))
    return stored, _segments(live, rng.tz)


async def _compose(
    conn: Conn,
    widget_ids: Sequence[UUID],
    rng: DateRange,
    *,
    lists: bool = False,
    daily_p95: bool = False,
    total_p95: bool = False,
    cover: analytics.Cover | None = None,
) -> dict[UUID, _Composed]:
    """Each widget's range: stored days merged in SQL, plus rows computed live for the rest. Only
    what the answer needs is read (lists: one widget). `cover`: the widgets' covered_days, when
    already read."""
    composed = {widget_id: _Composed() for widget_id in widget_ids}
    if not widget_ids:
        return composed
    if cover is None:
        cover = await analytics.covered_days(conn, widget_ids=widget_ids, **_cover_span(rng))
    stored, segments = _split(cover.covered, rng)
    # Live rows only when a live segment may hold a log: none starts after the range's latest log.
    if segments and cover.latest is not None and cover.latest >= segments[0].lo:
        for live in await analytics.compute_rows(
            conn, segments=segments, tz=rng.tz_name, widget_ids=widget_ids
        ):
            _add_live_row(composed[live.widget_id], live, lists)
    if not stored:
        return composed
    mixed = sorted({segment.day for segment in segments})  # local days with a live part
    if rng.tz_name == "UTC" and lists and daily_p95 and total_p95:
        # One widget's whole answer: its stored days and lists in one round trip.
        (widget_id,) = widget_ids
        target = composed[widget_id]
        stored_utc, stored_lists = await analytics.stored_utc_with_lists(
            conn,
            widget_id=widget_id,
            days=stored,
            mixed=[day for day in stored if day in mixed],
            listed=cover.blocks,
            tops=_TOPS,
            live=target.lists.live_counts(),
        )
        _add_stored_utc(composed, mixed, stored_utc)
        _add_stored_lists(target.lists, stored_lists)
        return composed
    if rng.tz_name == "UTC":
        _add_stored_utc(
            composed,
            mixed,
            await analytics.stored_utc(
                conn,
                widget_ids=widget_ids,
                days=stored,
                mixed=[day for day in stored if day in mixed] if daily_p95 else [],
                range_=total_p95,
            ),
        )
    else:
        await _add_stored_shifted(conn, composed, widget_ids, rng, stored, mixed, daily_p95=daily_p95)
        if total_p95:
            for widget_id, (buckets, counts) in (
                await analytics.range_histograms(conn, widget_ids=widget_ids, days=stored)
            ).items():
                _merge(composed[widget_id].histogram, zip(buckets, counts, strict=True))
    if lists:
        (widget_id,) = widget_ids
        await _merge_stored_lists(conn, widget_id, stored, cover.blocks, composed[widget_id].lists)
    return composed


def _add_stored_utc(
    composed: dict[UUID, _Composed], mixed: Sequence[date], stored: analytics.StoredUtc
) -> None:
    """Stored UTC days are local days as they are: counters and p95 bucket (or, for a day with a
    live part, its histogram), the grid, and each widget's histogram over the range."""
    mixed_days = set(mixed)
    only = next(iter(composed.values())) if len(composed) == 1 else None  # no UUID hashing per row
    for row in stored.days:
        target = only or composed[row["widget_id"]]
        day = row["day"]
        cells = target.grid[day.weekday()]
        cells[:] = map(operator.add, cells, row["hour_messages"])
        sums = target.day(day)
        sums.add_row(row)
        if day not in mixed_days:  # a whole stored day: its own p95
            sums.p95_bucket = row["p95_bucket"]
        elif row["buckets"] is not None:  # one with a live part: its histogram, to join the live one
            _merge(sums.histogram, zip(row["buckets"], row["counts"], strict=True))
    for widget_id, (buckets, counts) in stored.ranges.items():
        _merge(composed[widget_id].histogram, zip(buckets, counts, strict=True))


async def _add_stored_shifted(
    conn: Conn,
    composed: dict[UUID, _Composed],
    widget_ids: Sequence[UUID],
    rng: DateRange,
    stored: Sequence[date],
    mixed: Sequence[date],
    *,
    daily_p95: bool,
) -> None:
    """Stored UTC days moved into a whole-hour zone's local days: counters, grid and daily p95."""
    for row in await analytics.stored_counters(conn, widget_ids=widget_ids, days=stored, tz=rng.tz_name):
        target = composed[row["widget_id"]]
        if row["day"] is None:
            target.grid[row["weekday"]][row["hour"]] += row["messages"]
            continue
        target.day(row["day"]).add_row(row)
    if daily_p95:
        local_days = [rng.first + timedelta(days=n) for n in range(rng.days)]
        for row in await analytics.stored_histograms(
            conn, widget_ids=widget_ids, days=stored, tz=rng.tz_name, local_days=local_days, mixed=mixed
        ):
            sums = composed[row["widget_id"]].day(row["day"])
            if row["buckets"] is not None:
                _merge(sums.histogram, zip(row["buckets"], row["counts"], strict=True))
            else:
                sums.p95_bucket = row["p95_bucket"]


async def _merge_stored_lists(
    conn: Conn,
    widget_id: UUID,
    stored: Sequence[date],
    listed: Collection[tuple[int, date]],
    merged: _Lists,
) -> None:
    """Add the stored days' lists to `merged` (which holds the live rows'): the counts of the keys
    that rank once merged, their wordings and the details of the gaps among them (one statement,
    through the blocks of days `listed` as built where they fit)."""
    _add_stored_lists(
        merged,
        await analytics.stored_lists(
            conn, widget_id=widget_id, days=stored, listed=listed, tops=_TOPS, live=merged.live_counts()
        ),
    )


def _add_stored_lists(merged: _Lists, rows: Sequence[Mapping[str, Any]]) -> None:
    """stored_lists' rows into `merged`."""
    for row in sorted(rows, key=lambda row: row["part"] != "count"):  # counts first
        if row["part"] == "count":
            merged.add_count(row["kind"], row["key"], row["n"])
        elif row["part"] == "text":
            merged.add_text(row["kind"], row["key"], row["text"], row["n"])
        else:
            merged.add_gap_details(row)


def _daily(composed: _Composed, rng: DateRange) -> list[dict[str, Any]]:
    """Every day of the range (`DailyMetrics` as plain data), zero days included."""
    empty = _Sums().metrics()
    days = composed.days
    one_day = timedelta(days=1)
    daily = []
    day = rng.first
    for _ in range(rng.days):
        sums = days.get(day)
        daily.append({"date": day, **(sums.metrics() if sums is not None else empty)})
        day += one_day
    return daily


# --- access and reads --------------------------------------------------------------------------


def _may_see(user: User, client_id: UUID) -> bool:
    return user.role == "admin" or (user.client_id is not None and user.client_id == client_id)


async def widget_analytics(db: Database, *, user: User, widget_id: UUID, rng: DateRange) -> WidgetAnalytics:
    """One widget's range; 404 (the same answer whether or not it exists) when `user` may not see it."""

    async def read(conn: Conn) -> WidgetAnalytics:
        async with analytics.read_only(conn):
            widget, cover = await analytics.widget_with_cover(conn, widget_id=widget_id, **_cover_span(rng))
            if widget is None or not _may_see(user, widget.client_id):
                raise NotFoundError(WIDGET_NOT_FOUND)
            composed = (
                await _compose(
                    conn, [widget.id], rng, lists=True, daily_p95=True, total_p95=True, cover=cover
                )
            )[widget.id]
        # Plain data validated once, as a whole (pydantic-core does it far faster than models
        # built item by item).
        return WidgetAnalytics.model_validate(
            {
                "widget": widget,
                "range": rng.out(),
                "totals": composed.totals().metrics(),
                "daily": _daily(composed, rng),
                "hourly": composed.grid,
                "top_questions": composed.lists.top_questions(),
                "top_topics": composed.lists.top_topics(),
                "knowledge_gaps": composed.lists.knowledge_gaps(),
            }
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
            composed = await _compose(conn, [w.id for w in widgets], rng)
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
            composed = await _compose(conn, [w.id for w in widgets], rng, total_p95=True)
        total = _Sums()
        per_widget: list[dict[str, Any]] = []
        for widget in widgets:
            sums = composed[widget.id].totals()
            total.add(sums)
            per_widget.append({"widget": widget, "totals": sums.metrics()})
        return ClientAnalytics.model_validate(
            {
                "client": {"id": client_id, "name": name},
                "range": rng.out(),
                "widgets": per_widget,
                "totals": total.metrics(),
            }
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
