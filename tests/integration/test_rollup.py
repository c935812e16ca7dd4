"""The analytics rollup on a small fixed data set whose every figure is computed by hand (README
"Analytics"): what it writes, that running it again changes nothing, and that stored days and live
computation agree."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.db import Database
from shared.errors import UnprocessableError
from shared.jobs import JobContext
from shared.models import Client, User, Widget
from shared.models.analytics import Segment
from shared.observability import logger
from shared.repositories import analytics as analytics_repo
from shared.services import questions, rollup
from shared.services.analytics import date_range, widget_analytics, zone
from tests.conftest import make_settings
from tests.factories import make_client, make_widget

pytestmark = pytest.mark.anyio

SAT, SUN = date(2026, 1, 10), date(2026, 1, 11)


def at(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


@dataclass
class DataSet:
    """Client A (widgets w1, w2 with a 0.8 threshold) and client B (widget w3)."""

    client_a: Client
    client_b: Client
    w1: Widget
    w2: Widget
    w3: Widget


# (widget, session, created_at, message, status, confidence, response_time_ms, feedback, topic, response)
def _logs(ds: DataSet) -> list[tuple[Any, ...]]:
    w1, w2, w3 = ds.w1.id, ds.w2.id, ds.w3.id
    return [
        (w1, "s1", at(SAT, "09:00"), "How much is delivery?", "answered", 0.9, 200, "up", "shipping", "R1"),
        (w1, "s1", at(SAT, "09:05"), "how much is delivery", "answered", 0.4, 400, "down", "shipping", "R2"),
        (
            w1,
            "s2",
            at(SAT, "10:00"),
            "How much is  the delivery??",
            "answered",
            0.8,
            300,
            None,
            "shipping",
            "R3",
        ),
        (w1, "s2", at(SAT, "10:30"), "How long is delivery?", "failed", None, 900, None, None, ""),
        (w1, "s3", at(SAT, "23:30"), "Opening hours please", "answered", 0.3, 100, None, "hours", "R5"),
        (
            w1,
            "s3",
            at(SUN, "00:10"),
            "What are your opening hours?",
            "answered",
            0.95,
            500,
            None,
            "hours",
            "R6",
        ),
        (w1, "s4", at(SUN, "12:00"), "How much is delivery?", "answered", 0.7, 600, "down", "shipping", "R7"),
        (
            w1,
            "s4",
            at(SUN, "12:01"),
            "How long is delivery?",
            "answered",
            0.2,
            700,
            None,
            None,
            "About 3 days.",
        ),
        (w2, "s5", at(SAT, "14:00"), "Hi", "answered", 0.75, 250, None, None, "Hello!"),
        (w3, "s6", at(SUN, "08:00"), "Price?", "answered", 0.9, 150, None, None, "10 EUR"),
    ]


def insert_logs(db_url: str, rows: list[tuple[Any, ...]]) -> None:
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO chat_logs (id, widget_id, user_id, created_at, message, status, confidence, "
            "response_time_ms, feedback, topic, response) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(uuid.uuid4(), *row) for row in rows],
        )


@pytest.fixture
async def dataset(db: Database, db_url: str) -> DataSet:
    with psycopg.connect(db_url) as conn:  # not among the tables tests/conftest.py empties
        conn.execute("TRUNCATE analytics_rollup_days")
    client_a, client_b = await make_client(db, name="Acme"), await make_client(db, name="Beta")
    w1, _ = await make_widget(db, client=client_a)
    w2, _ = await make_widget(db, client=client_a, config={"low_confidence_threshold": 0.8})
    w3, _ = await make_widget(db, client=client_b)
    ds = DataSet(client_a, client_b, w1, w2, w3)
    insert_logs(db_url, _logs(ds))
    return ds


async def roll_up(db: Database, *days: date) -> None:
    for day in days:
        await rollup.rollup_day(db, day)


def stored(db_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        rows = conn.execute("SELECT * FROM analytics ORDER BY widget_id, date").fetchall()
    for row in rows:
        for name in ("id", "created_at", "updated_at"):
            row.pop(name)
    return rows


def job(db: Database, db_url: str, *, now: datetime, since: date | None = None) -> JobContext:
    event = {"since": since.isoformat()} if since else {}
    return JobContext("analytics_rollup", make_settings(db_url), db, event, now, logger)


async def test_a_rolled_up_day_holds_hand_computed_figures(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given the fixed data set, when Saturday and Sunday are rolled up
    await roll_up(db, SAT, SUN)

    # Then w1's Saturday row holds every figure as computed by hand
    rows = {(r["widget_id"], r["date"]): r for r in stored(db_url)}
    sat = rows[(dataset.w1.id, SAT)]
    assert (sat["num_messages"], sat["num_chats"], sat["num_failed"], sat["num_conversations"]) == (
        5,
        4,
        1,
        3,
    )
    assert sat["avg_confidence"] == pytest.approx(0.6)
    assert (sat["positive_feedback"], sat["negative_feedback"]) == (1, 1)
    assert sat["avg_response_time_ms"] == pytest.approx(250.0)  # answered only: 200, 400, 300, 100
    assert sat["p95_response_time_ms"] == 400
    assert sat["hour_messages"][9] == 2 and sat["hour_messages"][10] == 2 and sat["hour_messages"][23] == 1
    assert sum(sat["hour_messages"]) == 5 and len(sat["hour_messages"]) == 24
    assert sat["hour_conversations"][9] == 1 and sat["hour_conversations"][10] == 1
    assert sat["hour_conversations"][23] == 1
    assert sat["top_topics"] == [{"topic": "shipping", "count": 3}, {"topic": "hours", "count": 1}]
    assert sat["top_questions"][0] == {
        "key": "how much is delivery", "count": 3,
        "texts": [["How much is  the delivery??", 1], ["How much is delivery?", 1], ["how much is delivery", 1]],
    }  # fmt: skip
    assert sat["most_common_questions"][0] == {"question": "How much is  the delivery??", "count": 3}

    # And Sunday counts s3 (started on Saturday) as no new conversation
    sun = rows[(dataset.w1.id, SUN)]
    assert (sun["num_chats"], sun["num_failed"], sun["num_conversations"]) == (3, 0, 1)
    assert sun["avg_confidence"] == pytest.approx(1.85 / 3)
    assert (sun["avg_response_time_ms"], sun["p95_response_time_ms"]) == (600.0, 700.0)

    # And days without messages get no row: w2 has only Saturday, w3 only Sunday
    assert set(rows) == {
        (dataset.w1.id, SAT),
        (dataset.w1.id, SUN),
        (dataset.w2.id, SAT),
        (dataset.w3.id, SUN),
    }
    w2 = rows[(dataset.w2.id, SAT)]
    assert w2["knowledge_gaps"][0]["low_confidence"] == 1  # 0.75 is under w2's own threshold of 0.8


async def test_running_the_rollup_twice_gives_the_same_rows(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given the rollup has run for both days
    await roll_up(db, SAT, SUN)
    first = stored(db_url)

    # When it runs again (and once more as a backfill job)
    await roll_up(db, SAT, SUN)
    summary = await rollup.run_rollup(job(db, db_url, now=at(SUN, "23:00") + timedelta(days=1), since=SAT))

    # Then the rows are exactly the same
    assert stored(db_url) == first
    assert summary["days"] == 3 and summary["complete"] is True and summary["rows_written"] == 4


async def test_the_scheduled_run_covers_today_and_yesterday(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given a scheduled run on Sunday afternoon
    summary = await rollup.run_rollup(job(db, db_url, now=at(SUN, "15:00")))

    # Then it rolled up Saturday and Sunday
    assert (summary["first_day"], summary["last_day"], summary["days"]) == (
        SAT.isoformat(),
        SUN.isoformat(),
        2,
    )
    assert len(stored(db_url)) == 4


async def test_the_scheduled_run_recomputes_only_days_whose_logs_changed(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given a scheduled run on Sunday afternoon, then a second one with nothing new
    now = at(SUN, "15:00")
    first = await rollup.run_rollup(job(db, db_url, now=now))
    rows = stored(db_url)
    again = await rollup.run_rollup(job(db, db_url, now=now + timedelta(minutes=15)))

    # Then the second one computed nothing and changed no row, but both days count as rolled up
    assert first["rows_written"] == 4 and again["rows_written"] == 0 and again["days"] == 2
    assert stored(db_url) == rows

    # When a visitor gives Saturday's first answer a thumbs-down, and w3 gets a new log on Sunday
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "UPDATE chat_logs SET feedback = 'down' WHERE widget_id = %s AND created_at = %s",
            (dataset.w1.id, at(SUN, "00:10")),
        )
    insert_logs(
        db_url, [(dataset.w3.id, "s7", at(SUN, "14:00"), "Hours?", "answered", 0.9, 150, None, None, "9-5")]
    )
    third = await rollup.run_rollup(job(db, db_url, now=now + timedelta(minutes=30)))

    # Then the next run recomputed Sunday only, and its rows are those of a full recomputation
    assert third["rows_written"] == 2 and third["first_day"] == SAT.isoformat()
    after = {(r["widget_id"], r["date"]): r for r in stored(db_url)}
    assert after[(dataset.w1.id, SUN)]["negative_feedback"] == 2
    assert after[(dataset.w3.id, SUN)]["num_chats"] == 2
    await rollup.run_rollup(job(db, db_url, now=now + timedelta(minutes=30), since=SAT))
    assert stored(db_url) == list(after.values())


async def test_a_day_whose_logs_were_deleted_loses_its_row(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given a rolled-up day, whose logs of w3 are then deleted
    await roll_up(db, SUN)
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM chat_logs WHERE widget_id = %s", (dataset.w3.id,))

    # When it is rolled up again
    await roll_up(db, SUN)

    # Then w3 has no row for it any more
    assert [r["widget_id"] for r in stored(db_url)] == [dataset.w1.id]


def stored_lists(db_url: str) -> list[dict[str, Any]]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute("SELECT * FROM analytics_lists ORDER BY widget_id, date, kind, key").fetchall()


def lists_of_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The narrow list rows the wide rows' arrays describe."""
    out: list[dict[str, Any]] = []
    for row in rows:
        base = {"widget_id": row["widget_id"], "date": row["date"]}
        for kind, keys, counts, text_keys, texts, text_counts in (
            ("question", "question_keys", "question_counts", "question_text_keys", "question_texts",
             "question_text_counts"),
            ("gap", "gap_keys", "gap_counts", "gap_text_keys", "gap_texts", "gap_text_counts"),
        ):  # fmt: skip
            for i, (key, n) in enumerate(zip(row[keys], row[counts], strict=True), start=1):
                wordings = [
                    (t, c)
                    for k, t, c in zip(row[text_keys], row[texts], row[text_counts], strict=True)
                    if k == i
                ]
                details = dict.fromkeys(
                    ("failed", "low_confidence", "thumbs_down", "last_at", "last_reply", "last_reply_at")
                )
                if kind == "gap":
                    details = {name: row[f"gap_{name}"][i - 1] for name in details}
                out.append(
                    {**base, "kind": kind, "key": key, "n": n, "texts": [t for t, _ in wordings],
                     "text_counts": [c for _, c in wordings], **details}
                )  # fmt: skip
        for key, n in zip(row["topic_names"], row["topic_counts"], strict=True):
            out.append(
                {**base, "kind": "topic", "key": key, "n": n, "texts": None, "text_counts": None,
                 **dict.fromkeys(("failed", "low_confidence", "thumbs_down", "last_at", "last_reply", "last_reply_at"))}
            )  # fmt: skip
    return sorted(out, key=lambda r: (r["widget_id"], r["date"], r["kind"], r["key"]))


async def test_the_narrow_list_rows_follow_the_stored_days(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given both days rolled up, twice
    await roll_up(db, SAT, SUN)
    await roll_up(db, SAT, SUN)

    # Then the narrow list rows are exactly the stored rows' lists, once
    lists = stored_lists(db_url)
    assert lists == lists_of_rows(stored(db_url))
    assert {r["kind"] for r in lists} == {"question", "gap", "topic"}
    assert any(r["texts"] for r in lists if r["kind"] == "gap")

    # When w3 loses its Sunday logs and the day is rolled up again, then w1 is deleted
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM chat_logs WHERE widget_id = %s", (dataset.w3.id,))
    await roll_up(db, SUN)
    assert stored_lists(db_url) == lists_of_rows(stored(db_url))
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM widgets WHERE id = %s", (dataset.w1.id,))

    # Then the lists still follow the stored rows, and nothing is left of w1's
    assert stored_lists(db_url) == lists_of_rows(stored(db_url))
    assert dataset.w1.id not in {r["widget_id"] for r in stored_lists(db_url)}


async def test_a_backfill_equals_the_live_computation_for_every_day(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given a backfill of every day
    await rollup.run_rollup(
        job(db, db_url, now=at(SUN, "10:00") + timedelta(days=2), since=SAT - timedelta(days=1))
    )
    rows = {(r["widget_id"], r["date"]): r for r in stored(db_url)}

    # When each day is computed live by the read path's query
    for day in (SAT, SUN):
        lo = datetime.combine(day, time(), UTC)
        hi = lo + timedelta(days=1)
        live = await db.run(
            analytics_repo.compute_rows,
            segments=[Segment(day, lo, hi)],
            tz="UTC",
            widget_ids=None,
        )
        # Then every stored column equals the live one
        for row in live:
            stored_row = rows[(row.widget_id, day)]
            for name, value in vars(row).items():
                assert stored_row[name] == value, (day, name)
        assert len(live) == sum(1 for key in rows if key[1] == day)


def test_question_normalisation_is_the_same_in_sql_and_python(db_url: str) -> None:
    corpus = [
        "How much is delivery?", "how much is delivery", "How much is  the delivery??", "How long is delivery?",
        "Crème brûlée, thanks!", "¿Cuánto cuesta el envío?", "Привет, как дела?", "Opening hours — please",
        "What are your opening hours? Thank you!!", "tab\there\u00a0nbsp", "50% (ok) «quoted»", "…", "",
    ]  # fmt: skip
    with psycopg.connect(db_url) as conn:
        for message in corpus:
            query = "SELECT " + questions.SQL_TEMPLATE.format(column="%(m)s::text")
            row = conn.execute(query, {**questions.SQL_PARAMS, "m": message}).fetchone()
            assert row is not None and row[0] == questions.normalise(message), message


def test_ranges_and_zones_are_checked() -> None:
    now = at(SUN, "12:00")
    assert date_range(SAT, SUN, "Europe/Berlin", now=now).start == datetime(2026, 1, 9, 23, tzinfo=UTC)
    for first, last, tz in [
        (SUN, SAT, "UTC"),
        (date(2025, 1, 1), date(2026, 1, 2), "UTC"),
        (SAT, SUN, "Mars/Olympus"),
        (SAT, SUN, "../etc/passwd"),
    ]:
        with pytest.raises(UnprocessableError) as caught:
            date_range(first, last, tz, now=now)
        assert getattr(caught.value, "status_code", None) == 422
    assert zone("Asia/Kolkata").key == "Asia/Kolkata"


async def test_the_bench_at_50000_rows_rolls_up_to_the_direct_aggregate(db_url: str) -> None:
    # Given the analytics bench's data at 50,000 rows (50 widgets, 180 days), rolled up
    from scripts.bench.analytics import check_size

    with psycopg.connect(db_url) as conn:
        conn.execute("TRUNCATE analytics_rollup_days")
    result = await check_size(db_url, 50_000, rounds=2)

    # Then a 90-day read through the API equals one aggregate query over chat_logs (not timed here)
    assert result.matches, result.mismatches


async def read(db: Database, widget_id: uuid.UUID, first: date, last: date, tz: str) -> dict[str, Any]:
    admin = User(id=uuid.uuid4(), email="reader@agency.test", role="admin", client_id=None, last_login_at=None,
                 created_at=datetime.now(UTC))  # fmt: skip
    rng = date_range(first, last, tz, now=datetime.now(UTC))
    result = await widget_analytics(db, user=admin, widget_id=widget_id, rng=rng)
    return result.model_dump(mode="json")


def forget_rollups(db_url: str) -> None:
    """Make every day read live again (the stored rows stay, unread)."""
    with psycopg.connect(db_url) as conn:
        conn.execute("TRUNCATE analytics_rollup_days")


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "America/New_York"])
async def test_days_rolled_up_out_of_order_read_as_the_live_computation(
    db: Database, db_url: str, dataset: DataSet, tz: str
) -> None:
    # Given the days around the data rolled up newest first, then an earlier day again after its
    # logs changed (so later days' running totals must follow)
    around = [SAT - timedelta(days=1), SAT, SUN, SUN + timedelta(days=1)]
    await roll_up(db, *reversed(around))
    insert_logs(
        db_url, [(dataset.w1.id, "s9", at(SAT, "11:00"), "Price?", "answered", 0.5, 2500, None, None, "x")]
    )
    await roll_up(db, SAT)

    # When ranges are read from storage, and again all live
    ranges = [(SAT, SUN), (SUN, SUN), (SAT, SAT), (SAT - timedelta(days=1), SUN + timedelta(days=1))]
    widgets = [dataset.w1.id, dataset.w2.id, dataset.w3.id]
    stored = [await read(db, w, first, last, tz) for w in widgets for first, last in ranges]
    forget_rollups(db_url)
    live = [await read(db, w, first, last, tz) for w in widgets for first, last in ranges]

    # Then both give the same answers
    assert stored == live
    assert (
        stored[0]["totals"]["chats"] == 8 and stored[0]["totals"]["p95_response_time_ms"] == 2498.0
    )  # the bucket of 2,500 ms


async def test_today_is_read_from_its_rollup_and_what_came_after_it(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given logs of today, some of them after today was rolled up (or within the settle margin)
    now = datetime.now(UTC).replace(microsecond=0)
    today = now.date()
    early = max(datetime.combine(today, datetime.min.time(), UTC), now - timedelta(hours=2))
    w1 = dataset.w1.id
    insert_logs(db_url, [
        (w1, "t1", early, "How much is delivery?", "answered", 0.9, 120, "up", "shipping", "R"),
        (w1, "t2", early, "Hours?", "failed", None, None, None, None, ""),
    ])  # fmt: skip
    await roll_up(db, today)
    insert_logs(db_url, [
        (w1, "t1", now, "how much is delivery", "answered", 0.3, 180, "down", "shipping", "R2"),
        (w1, "t3", now, "Hours?", "answered", 0.95, 90, None, "hours", "R3"),
    ])  # fmt: skip

    # When today is read (its rollup covers up to five minutes before it ran), and again all live
    stored = await read(db, w1, today - timedelta(days=1), today, "UTC")
    forget_rollups(db_url)
    live = await read(db, w1, today - timedelta(days=1), today, "UTC")

    # Then both count every log once
    assert stored == live
    assert stored["totals"]["chats"] == 3 and stored["totals"]["failed"] == 1
    assert stored["totals"]["conversations"] == 3
    assert [(q["normalized"], q["count"]) for q in stored["top_questions"]] == [
        ("hours", 2), ("how much is delivery", 2),
    ]  # fmt: skip


async def test_a_question_below_a_busy_days_top_ranks_is_counted_exactly_over_the_range(
    db: Database, db_url: str
) -> None:
    # Given a day of 200 distinct questions (as many as README promises exact counts for), the one
    # asked least of them (once) being the question asked most on the next day
    with psycopg.connect(db_url) as conn:
        conn.execute("TRUNCATE analytics_rollup_days")
    widget, _ = await make_widget(db, client=await make_client(db, name="Busy"))
    others = [f"Other question {n}?" for n in range(199)]
    rows = [
        (widget.id, f"s{n}-{k}", at(SAT, "10:00"), text, "answered", 0.9, 100, None, None, "R")
        for n, text in enumerate(others)
        for k in range(2)
    ]
    rows.append(
        (widget.id, "t0", at(SAT, "11:00"), "Where is my order?", "answered", 0.9, 100, None, None, "R")
    )
    rows += [
        (widget.id, f"t{n}", at(SUN, "09:00"), "Where is my order?", "answered", 0.9, 100, None, None, "R")
        for n in range(1, 301)
    ]
    insert_logs(db_url, rows)

    # When the two days are read rolled up, and live
    await roll_up(db, SAT, SUN)
    stored = await read(db, widget.id, SAT, SUN, "UTC")
    forget_rollups(db_url)
    live = await read(db, widget.id, SAT, SUN, "UTC")

    # Then the question counts every time it was asked, the first day's once included
    assert stored == live
    top = [(q["normalized"], q["count"]) for q in stored["top_questions"]]
    assert top[0] == ("where is my order", 301)
    assert [count for _, count in top[1:]] == [2] * (len(top) - 1)


async def test_the_stored_question_key_is_the_normalised_message(db_url: str, dataset: DataSet) -> None:
    # Given logs of many wordings
    corpus = [
        "How much is  the delivery??", "Crème brûlée, thanks!", "¿Cuánto cuesta el envío?", "Привет, как дела?",
        "What are your opening hours? Thank you!!", "tab\there\u00a0nbsp", "50% (ok) «quoted»", "…", "x" * 400,
    ]  # fmt: skip
    insert_logs(
        db_url,
        [(dataset.w1.id, "q", at(SAT, "08:00"), m, "answered", 0.9, 1, None, None, "") for m in corpus],
    )

    # Then the key chat_logs keeps for each is what Python's rules give
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT message, question_key FROM chat_logs WHERE user_id = 'q'").fetchall()
    assert sorted(rows) == sorted((m, questions.normalise(m)) for m in corpus)


# --- blocks of lists (0021) ------------------------------------------------------------------------

BLOCKS_FIRST = date(2025, 12, 20)  # 40 days to 2026-01-28: blocks of 8, 16 and 32 days fit
BLOCKS_DAYS = 40


def varied_logs(widget_id: uuid.UUID, first: date, days: int) -> list[tuple[Any, ...]]:
    """A few logs a day whose questions, wordings, failures, confidences, feedback, topics and
    replies vary from day to day, so that no two days' lists are alike."""
    rows = []
    for i in range(days):
        day = first + timedelta(days=i)
        for j in range(i % 5 + 2):
            question = f"question {(i * 3 + j) % 11}"
            wording = (
                ("How about ", "how about ", "HOW ABOUT ")[(i + j) % 3]
                + question
                + ("?", "", " please")[j % 3]
            )
            failed = (i + j) % 9 == 0
            rows.append((
                widget_id, f"v{i}-{j % 2}", at(day, f"{(j * 5) % 24:02d}:{(i * 7) % 60:02d}"), wording,
                "failed" if failed else "answered", None if failed else ((i * 7 + j * 13) % 10) / 10,
                100 + 37 * j, "down" if (i + j) % 6 == 0 else ("up" if (i + j) % 5 == 0 else None),
                f"topic {(i + j) % 4}", "" if failed else f"Reply {i}-{j}",
            ))  # fmt: skip
    return rows


def block_spans(db_url: str) -> set[tuple[int, date]]:
    with psycopg.connect(db_url) as conn:
        return set(conn.execute("SELECT level, first_day FROM analytics_list_block_spans").fetchall())


def stale_blocks(db_url: str) -> set[tuple[uuid.UUID, int, date]]:
    with psycopg.connect(db_url) as conn:
        return set(
            conn.execute("SELECT widget_id, level, first_day FROM analytics_list_block_stale").fetchall()
        )


async def read_three_ways(db: Database, db_url: str, widget_id: uuid.UUID, ranges: list[tuple[date, date]],
                          tz: str) -> list[dict[str, Any]]:  # fmt: skip
    """The ranges read through the blocks, then through the days alone, then live: all equal."""
    through_blocks = [await read(db, widget_id, first, last, tz) for first, last in ranges]
    with psycopg.connect(db_url) as conn:
        spans = conn.execute("SELECT level, first_day FROM analytics_list_block_spans").fetchall()
        stale = conn.execute("SELECT widget_id, level, first_day FROM analytics_list_block_stale").fetchall()
        conn.execute("DELETE FROM analytics_list_block_spans")  # their stale marks go with them
    through_days = [await read(db, widget_id, first, last, tz) for first, last in ranges]
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO analytics_list_block_spans (level, first_day) VALUES (%s, %s)", spans
        )
        conn.cursor().executemany(
            "INSERT INTO analytics_list_block_stale (widget_id, level, first_day) VALUES (%s, %s, %s)", stale
        )
        days = conn.execute("SELECT date, covered_until FROM analytics_rollup_days").fetchall()
        conn.execute("TRUNCATE analytics_rollup_days")
    live = [await read(db, widget_id, first, last, tz) for first, last in ranges]
    with psycopg.connect(db_url) as conn:
        conn.cursor().executemany(
            "INSERT INTO analytics_rollup_days (date, rolled_up_at, covered_until) VALUES (%s, now(), %s)",
            days,
        )
    assert through_blocks == through_days
    assert through_blocks == live
    return through_blocks


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
async def test_lists_read_through_blocks_of_days_equal_the_days_and_the_live_computation(
    db: Database, db_url: str, dataset: DataSet, tz: str
) -> None:
    # Given 40 days of varied logs (and the data set's weekend), backfilled
    insert_logs(db_url, varied_logs(dataset.w1.id, BLOCKS_FIRST, BLOCKS_DAYS))
    last = BLOCKS_FIRST + timedelta(days=BLOCKS_DAYS - 1)
    summary = await rollup.run_rollup(
        job(db, db_url, now=at(last + timedelta(days=1), "10:00"), since=BLOCKS_FIRST)
    )

    # Then the blocks every one of whose days was rolled up are built: 8, 16 and 32 days long
    spans = block_spans(db_url)
    assert summary["list_blocks_built"] == len(spans) > 0
    assert {level for level, _ in spans} == {3, 4, 5}
    for level, first_day in spans:
        assert (first_day - analytics_repo.EPOCH).days % (1 << level) == 0
        block_end = first_day + timedelta(days=(1 << level) - 1)
        assert first_day >= BLOCKS_FIRST and block_end <= last + timedelta(days=1)  # the run's today too

    # When ranges that take whole blocks, parts of blocks and none are read through the blocks, the
    # days alone and live
    ranges = [(BLOCKS_FIRST, last), (BLOCKS_FIRST + timedelta(days=3), last - timedelta(days=2)),
              (date(2026, 1, 1), date(2026, 1, 8)), (date(2026, 1, 2), date(2026, 1, 9)), (SAT, SUN)]  # fmt: skip
    answers = await read_three_ways(db, db_url, dataset.w1.id, ranges, tz)

    # Then all three give the same answers, with gaps and wordings to compare
    assert answers[0]["totals"]["chats"] > 100
    assert len(answers[0]["top_questions"]) == 10 and len(answers[0]["knowledge_gaps"]) > 10
    # (the whole range, in UTC, is read as a block of 32 days from 2025-12-26 and 8 days alone)
    whole = [BLOCKS_FIRST + timedelta(days=n) for n in range(BLOCKS_DAYS)]
    assert analytics_repo.list_pieces(whole, spans) == (whole[:6] + whole[-2:], [(5, date(2025, 12, 26))])

    # When a day inside the 32-day block counts as never rolled up (the job missed it), its stored
    # rows, lists and blocks all still there
    missed = date(2026, 1, 6)
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM analytics_rollup_days WHERE date = %s", [missed])
    stored_days = [day for day in whole if day != missed]
    singles, blocks = analytics_repo.list_pieces(stored_days, spans)

    # Then the reads take the blocks beside it, compute that day live, and still give the same answers
    assert blocks and all(not first <= missed < first + timedelta(days=1 << level) for level, first in blocks)
    assert missed not in singles
    await read_three_ways(db, db_url, dataset.w1.id, ranges[:2], tz)
    assert any(gap["last_reply"] for gap in answers[0]["knowledge_gaps"])


async def test_a_day_rolled_up_again_makes_its_blocks_stale_for_its_widgets_until_built_again(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given 40 backfilled days with their blocks built
    insert_logs(db_url, varied_logs(dataset.w1.id, BLOCKS_FIRST, BLOCKS_DAYS))
    last = BLOCKS_FIRST + timedelta(days=BLOCKS_DAYS - 1)
    now = at(last + timedelta(days=1), "10:00")
    await rollup.run_rollup(job(db, db_url, now=now, since=BLOCKS_FIRST))
    built = block_spans(db_url)

    # When a day inside blocks gets new logs (w1's and w2's) and is rolled up again
    day = date(2026, 1, 5)
    insert_logs(db_url, [
        (dataset.w1.id, "n1", at(day, "12:00"), "Brand new question?", "failed", None, 300, None, None, ""),
        (dataset.w2.id, "n2", at(day, "12:00"), "Brand new question?", "answered", 0.1, 300, "down", None, "No"),
    ])  # fmt: skip
    await roll_up(db, day)

    # Then every block holding that day is stale for those two widgets (their reads take its days
    # instead), no other block and no other widget's
    holding = {(level, first) for level, first in built if first <= day < first + timedelta(days=1 << level)}
    assert holding and block_spans(db_url) == built
    assert stale_blocks(db_url) == {(w, *block) for w in (dataset.w1.id, dataset.w2.id) for block in holding}
    whole = [(BLOCKS_FIRST, last)]
    for widget in (dataset.w1.id, dataset.w2.id, dataset.w3.id):
        await read_three_ways(db, db_url, widget, whole, "UTC")

    # When the job runs next, it builds them again for those two widgets, and they hold the new logs
    with psycopg.connect(db_url) as conn:
        w3_rows = conn.execute(
            "SELECT * FROM analytics_list_blocks WHERE widget_id = %s ORDER BY level, first_day, kind, key",
            [dataset.w3.id],
        ).fetchall()
    summary = await rollup.run_rollup(job(db, db_url, now=now))
    assert block_spans(db_url) == built and stale_blocks(db_url) == set()
    assert summary["list_blocks_built"] == len(holding)
    answer = (await read_three_ways(db, db_url, dataset.w2.id, whole, "UTC"))[0]
    assert answer["knowledge_gaps"][0]["normalized"] == "brand new question"
    with psycopg.connect(db_url) as conn:  # w3's rows were left alone
        assert (
            w3_rows
            == conn.execute(
                "SELECT * FROM analytics_list_blocks WHERE widget_id = %s ORDER BY level, first_day, kind, key",
                [dataset.w3.id],
            ).fetchall()
        )


async def test_a_deleted_widget_takes_its_block_rows_and_leaves_the_others_blocks_listed(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given two widgets' 40 backfilled days with their blocks built
    insert_logs(db_url, varied_logs(dataset.w1.id, BLOCKS_FIRST, BLOCKS_DAYS))
    insert_logs(db_url, varied_logs(dataset.w3.id, BLOCKS_FIRST, BLOCKS_DAYS))
    last = BLOCKS_FIRST + timedelta(days=BLOCKS_DAYS - 1)
    await rollup.run_rollup(job(db, db_url, now=at(last + timedelta(days=1), "10:00"), since=BLOCKS_FIRST))
    built = block_spans(db_url)

    # When w1 is deleted (its days' rows go with it)
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM widgets WHERE id = %s", (dataset.w1.id,))
        left = {row[0] for row in conn.execute("SELECT DISTINCT widget_id FROM analytics_list_blocks")}

    # Then its block rows went too, and w3's blocks are still listed and read as its days
    assert left == {dataset.w2.id, dataset.w3.id}  # w2: the data set's "Hi" on Saturday
    assert block_spans(db_url) == built
    await read_three_ways(db, db_url, dataset.w3.id, [(BLOCKS_FIRST, last)], "UTC")

    # When w3's stored days are deleted as the demo purge deletes them, its blocks are stale for it
    # alone (w2's stay fresh), and the next build empties them for it
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM analytics WHERE widget_id = %s", (dataset.w3.id,))
    assert block_spans(db_url) == built
    assert stale_blocks(db_url) == {(dataset.w3.id, *block) for block in built}
    await rollup.build_list_blocks(job(db, db_url, now=at(last + timedelta(days=1), "11:00")))
    with psycopg.connect(db_url) as conn:
        left = {row[0] for row in conn.execute("SELECT DISTINCT widget_id FROM analytics_list_blocks")}
    assert left == {dataset.w2.id} and stale_blocks(db_url) == set()


async def test_a_backfill_computing_two_days_at_once_writes_what_one_day_at_a_time_writes(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given 40 days of varied logs for two widgets, rolled up one day at a time, oldest first
    insert_logs(db_url, varied_logs(dataset.w1.id, BLOCKS_FIRST, BLOCKS_DAYS))
    insert_logs(db_url, varied_logs(dataset.w2.id, BLOCKS_FIRST + timedelta(days=3), BLOCKS_DAYS - 5))
    days = [BLOCKS_FIRST + timedelta(days=n) for n in range(BLOCKS_DAYS)]
    await roll_up(db, *days)
    one_at_a_time = stored(db_url)

    # When the backfill job recomputes them (the days before yesterday two at a time)
    summary = await rollup.run_rollup(job(db, db_url, now=at(days[-1] + timedelta(days=2), "10:00"),
                                          since=BLOCKS_FIRST))  # fmt: skip

    # Then every row, running histograms included, is what the one-day-at-a-time run wrote
    assert summary["complete"] is True and summary["days"] == BLOCKS_DAYS + 2
    assert stored(db_url) == one_at_a_time


async def test_two_builds_of_the_same_block_at_once_build_it_once(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given 40 backfilled days whose 8-day block from 2026-01-11 is then made stale by a new log
    insert_logs(db_url, varied_logs(dataset.w1.id, BLOCKS_FIRST, BLOCKS_DAYS))
    last = BLOCKS_FIRST + timedelta(days=BLOCKS_DAYS - 1)
    await rollup.run_rollup(job(db, db_url, now=at(last + timedelta(days=1), "10:00"), since=BLOCKS_FIRST))
    first_day = date(2026, 1, 11)
    assert (first_day - analytics_repo.EPOCH).days % 8 == 0
    with psycopg.connect(db_url) as conn:
        before = conn.execute(
            "SELECT * FROM analytics_list_blocks WHERE level = 3 AND first_day = %s AND widget_id = %s",
            [first_day, dataset.w1.id],
        ).fetchall()
    insert_logs(
        db_url,
        [(dataset.w1.id, "n", at(first_day, "09:00"), "Late one?", "answered", 0.9, 1, None, None, "x")],
    )
    await roll_up(db, first_day)
    assert (dataset.w1.id, 3, first_day) in stale_blocks(db_url)

    # When two connections build it at the same moment
    other = db.clone()
    try:
        results = await asyncio.gather(
            db.run(analytics_repo.build_list_block, level=3, first_day=first_day),
            other.run(analytics_repo.build_list_block, level=3, first_day=first_day),
        )
    finally:
        await other.close()

    # Then one built it again for w1 (its rows now with the new question) and the other found it done
    assert sorted(results, key=lambda r: r is None) == [len(before) + 1, None]
    assert (dataset.w1.id, 3, first_day) not in stale_blocks(db_url)
    with psycopg.connect(db_url) as conn:
        keys = conn.execute(
            "SELECT key FROM analytics_list_blocks WHERE level = 3 AND first_day = %s AND kind = 'question'",
            [first_day],
        ).fetchall()
    assert ("late one",) in keys and len(keys) == len(set(keys))


class ShrinkingLambdaTime:
    """A Lambda context whose time left falls under the rollup's reserve after `calls` questions."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def get_remaining_time_in_millis(self) -> int:
        self.calls -= 1
        return 600_000 if self.calls >= 0 else 10_000


async def test_a_backfill_short_of_time_stops_after_a_first_run_of_days_and_says_so(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given 40 days of logs and a Lambda invocation with time for only a few of them
    insert_logs(db_url, varied_logs(dataset.w1.id, BLOCKS_FIRST, BLOCKS_DAYS))
    now = at(BLOCKS_FIRST + timedelta(days=BLOCKS_DAYS), "10:00")
    context = JobContext("analytics_rollup", make_settings(db_url), db, {"since": BLOCKS_FIRST.isoformat()}, now,
                         logger, lambda_context=ShrinkingLambdaTime(6))  # fmt: skip

    # When the backfill runs
    summary = await rollup.run_rollup(context)

    # Then it stopped, reporting the first days it did, which are exactly the days rolled up
    assert summary["complete"] is False and summary["list_blocks_built"] == 0
    assert summary["first_day"] == BLOCKS_FIRST.isoformat() and 0 < summary["days"] < BLOCKS_DAYS
    last = date.fromisoformat(summary["last_day"])
    assert (last - BLOCKS_FIRST).days + 1 == summary["days"]
    with psycopg.connect(db_url) as conn:
        rolled = [row[0] for row in conn.execute("SELECT date FROM analytics_rollup_days ORDER BY date")]
    assert rolled == [BLOCKS_FIRST + timedelta(days=n) for n in range(summary["days"])]
