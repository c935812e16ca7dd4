"""The analytics API over the fixed data set of test_rollup (every figure computed by hand): rolled-up
days, live days and a mix give the same answers; time zones move days and hours; client viewers see
only their own client, and anything else answers the same 404 whether or not it exists."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import httpx
import psycopg
import pytest

from shared.api import analytics, auth
from shared.api.app import build_app
from shared.db import Conn, Database
from shared.repositories import analytics as analytics_repo
from tests.conftest import make_settings
from tests.factories import make_widget
from tests.integration.conftest import make_user
from tests.integration.test_rollup import SAT, SUN, DataSet, at, dataset, insert_logs, roll_up

pytestmark = pytest.mark.anyio
__all__ = ["dataset"]  # the fixture, imported for these tests

ADMIN = ("analytics-admin@agency.test", "analytics admin password")
VIEWER = ("viewer@acme.test", "acme viewer password 1")
RANGE = "from=2026-01-10&to=2026-01-11"


@dataclass
class AnalyticsApi:
    client: httpx.AsyncClient
    admin: dict[str, str]
    viewer: dict[str, str]  # a viewer of client A (widgets w1, w2)

    async def get(self, path: str, who: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.get(path, headers=who if who is not None else self.admin)


@pytest.fixture
async def api(db_url: str, db: Database, dataset: DataSet) -> AsyncIterator[AnalyticsApi]:
    app = build_app(
        title="analytics", routers=[auth.router, analytics.router], settings=make_settings(db_url)
    )
    await make_user(db, email=ADMIN[0], password=ADMIN[1])
    await make_user(db, email=VIEWER[0], password=VIEWER[1], role="client", client_id=dataset.client_a.id)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://platform.test") as client:
        tokens = []
        for email, password in (ADMIN, VIEWER):
            response = await client.post("/v1/auth/login", json={"email": email, "password": password})
            assert response.status_code == 200, response.text
            tokens.append({"Authorization": f"Bearer {response.json()['access_token']}"})
        yield AnalyticsApi(client, tokens[0], tokens[1])
    await app.state.resources.aclose()


def metrics(chats: int, conversations: int, failed: int, confidence: float | None, up: int, down: int,
            avg_ms: float | None, p95_ms: float | None) -> dict[str, Any]:  # fmt: skip
    return {
        "chats": chats,
        "conversations": conversations,
        "failed": failed,
        "avg_confidence": confidence,
        "positive_feedback": up,
        "negative_feedback": down,
        "avg_response_time_ms": avg_ms,
        "p95_response_time_ms": p95_ms,
    }


W1_SAT_UTC = metrics(4, 3, 1, 0.6, 1, 1, 250.0, 400.0)
W1_SUN_UTC = metrics(3, 1, 0, 0.6167, 0, 1, 600.0, 700.0)
W1_TOTAL = metrics(7, 4, 1, 0.6071, 1, 2, 400.0, 700.0)
W1_TOP_QUESTIONS = [
    {"question": "How much is delivery?", "normalized": "how much is delivery", "count": 4},
    {"question": "How long is delivery?", "normalized": "how long is delivery", "count": 2},
    {"question": "Opening hours please", "normalized": "opening hours", "count": 1},
    {"question": "What are your opening hours?", "normalized": "what are your opening hours", "count": 1},
]
W1_GAPS = [
    {
        "question": "How long is delivery?",
        "normalized": "how long is delivery",
        "count": 2,
        "reasons": {"failed": 1, "low_confidence": 1, "thumbs_down": 0},
        "last_reply": "About 3 days.",
        "last_asked_at": "2026-01-11T12:01:00Z",
    },
    {
        "question": "How much is delivery?",
        "normalized": "how much is delivery",
        "count": 2,
        "reasons": {"failed": 0, "low_confidence": 1, "thumbs_down": 2},
        "last_reply": "R7",
        "last_asked_at": "2026-01-11T12:00:00Z",
    },
    {
        "question": "Opening hours please",
        "normalized": "opening hours",
        "count": 1,
        "reasons": {"failed": 0, "low_confidence": 1, "thumbs_down": 0},
        "last_reply": "R5",
        "last_asked_at": "2026-01-10T23:30:00Z",
    },
]


def hourly(cells: dict[tuple[int, int], int]) -> list[list[int]]:
    grid = [[0] * 24 for _ in range(7)]
    for (weekday, hour), count in cells.items():
        grid[weekday][hour] = count
    return grid


@pytest.mark.parametrize("rolled_up", ["none", "saturday", "both"])
async def test_a_widget_range_in_utc_matches_the_hand_computed_figures(
    api: AnalyticsApi, db: Database, dataset: DataSet, rolled_up: str
) -> None:
    # Given the data set with no day, Saturday only, or both days rolled up (the rest is live)
    await roll_up(db, *{"none": [], "saturday": [SAT], "both": [SAT, SUN]}[rolled_up])

    # When an admin reads w1 over both days
    response = await api.get(f"/v1/analytics/widgets/{dataset.w1.id}?{RANGE}")

    # Then every figure is the hand-computed one
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["widget"] == {
        "id": str(dataset.w1.id), "client_id": str(dataset.client_a.id), "name": dataset.w1.name,
        "is_active": True, "is_demo": False,
    }  # fmt: skip
    assert body["range"] == {"from": "2026-01-10", "to": "2026-01-11", "tz": "UTC", "days": 2}
    assert body["totals"] == W1_TOTAL
    assert body["daily"] == [{"date": "2026-01-10", **W1_SAT_UTC}, {"date": "2026-01-11", **W1_SUN_UTC}]
    assert body["hourly"] == hourly({(5, 9): 2, (5, 10): 2, (5, 23): 1, (6, 0): 1, (6, 12): 2})
    assert body["top_questions"] == W1_TOP_QUESTIONS
    assert body["top_topics"] == [{"topic": "shipping", "count": 4}, {"topic": "hours", "count": 2}]
    assert body["knowledge_gaps"] == W1_GAPS


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_berlin_moves_a_message_across_midnight(
    api: AnalyticsApi, db: Database, dataset: DataSet, rolled_up: bool
) -> None:
    # Given Saturday 23:30 UTC is Sunday 00:30 in Berlin (UTC+1 in January)
    if rolled_up:
        await roll_up(db, date(2026, 1, 9), SAT, SUN, date(2026, 1, 12))

    # When w1 is read in Europe/Berlin
    response = await api.get(f"/v1/analytics/widgets/{dataset.w1.id}?{RANGE}&tz=Europe/Berlin")

    # Then the days, the hours and the conversations follow local time; the totals do not change
    body = response.json()
    assert body["daily"] == [
        {"date": "2026-01-10", **metrics(3, 2, 1, 0.7, 1, 1, 300.0, 400.0)},
        {"date": "2026-01-11", **metrics(4, 2, 0, 0.5375, 0, 1, 475.0, 700.0)},
    ]
    assert body["totals"] == W1_TOTAL
    assert body["hourly"] == hourly({(5, 10): 2, (5, 11): 2, (6, 0): 1, (6, 1): 1, (6, 13): 2})
    assert body["top_questions"] == W1_TOP_QUESTIONS and body["knowledge_gaps"] == W1_GAPS

    # And Sunday alone in Berlin holds the message sent on Saturday UTC
    sunday = (
        await api.get(f"/v1/analytics/widgets/{dataset.w1.id}?from=2026-01-11&to=2026-01-11&tz=Europe/Berlin")
    ).json()
    assert sunday["totals"] == metrics(4, 2, 0, 0.5375, 0, 1, 475.0, 700.0)
    assert {q["normalized"]: q["count"] for q in sunday["top_questions"]} == {
        "how much is delivery": 1, "how long is delivery": 1, "opening hours": 1, "what are your opening hours": 1,
    }  # fmt: skip


async def test_a_half_hour_zone_is_read_live_and_exactly(
    api: AnalyticsApi, db: Database, dataset: DataSet
) -> None:
    # Given both days rolled up, when w1 is read in Asia/Kolkata (UTC+5:30)
    await roll_up(db, SAT, SUN)
    body = (await api.get(f"/v1/analytics/widgets/{dataset.w1.id}?{RANGE}&tz=Asia/Kolkata")).json()

    # Then 09:00 UTC is 14:30 local, and every message of the range counts once
    assert body["totals"] == W1_TOTAL
    # Sat 09:00 and 09:05Z -> 14:30, 14:35; Sat 23:30Z and Sun 00:10Z -> Sun 05:00, 05:40
    assert body["hourly"][5][14] == 2 and body["hourly"][6][5] == 2


async def test_every_day_of_the_range_is_listed_zero_days_included(
    api: AnalyticsApi, dataset: DataSet
) -> None:
    body = (await api.get(f"/v1/analytics/widgets/{dataset.w1.id}?from=2026-01-08&to=2026-01-13")).json()
    assert [d["date"] for d in body["daily"]] == [f"2026-01-{n:02}" for n in range(8, 14)]
    assert body["daily"][0] == {"date": "2026-01-08", **metrics(0, 0, 0, None, 0, 0, None, None)}
    assert body["totals"] == W1_TOTAL


async def test_a_client_summary_gives_each_widget_and_the_total(
    api: AnalyticsApi, db: Database, dataset: DataSet
) -> None:
    await roll_up(db, SAT)
    body = (await api.get(f"/v1/analytics/clients/{dataset.client_a.id}?{RANGE}")).json()
    assert body["client"] == {"id": str(dataset.client_a.id), "name": "Acme"}
    by_widget = {item["widget"]["id"]: item["totals"] for item in body["widgets"]}
    assert by_widget == {
        str(dataset.w1.id): W1_TOTAL,
        str(dataset.w2.id): metrics(1, 1, 0, 0.75, 0, 0, 250.0, 250.0),
    }
    # 0.9 0.4 0.8 0.3 0.95 0.7 0.2 0.75 -> 5 / 8; response times 200..700 and 250 -> 3050 / 8
    assert body["totals"] == metrics(8, 5, 1, 0.625, 1, 2, 381.2, 700.0)


async def test_csv_exports_have_a_header_a_file_name_and_no_formulas(
    api: AnalyticsApi, db: Database, db_url: str, dataset: DataSet
) -> None:
    # Given a widget whose name a spreadsheet would run as a formula
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE widgets SET name = '=HYPERLINK(\"x\")' WHERE id = %s", (dataset.w2.id,))

    # When both exports are downloaded
    daily = await api.get(f"/v1/analytics/widgets/{dataset.w1.id}?{RANGE}&format=csv")
    summary = await api.get(f"/v1/analytics/clients/{dataset.client_a.id}?{RANGE}&format=csv")

    # Then they are CSV attachments with a header row, and the formula is neutralised
    assert daily.status_code == 200 and daily.headers["content-type"].startswith("text/csv")
    assert daily.headers["content-disposition"].startswith('attachment; filename="analytics-widget-')
    rows = list(csv.reader(io.StringIO(daily.text)))
    assert rows[0][:3] == ["date", "chats", "conversations"]
    assert rows[1][:4] == ["2026-01-10", "4", "3", "1"] and len(rows) == 3
    assert summary.headers["content-disposition"] == (
        'attachment; filename="analytics-client-acme-2026-01-10-2026-01-11.csv"'
    )
    table = list(csv.reader(io.StringIO(summary.text)))
    assert table[0][:3] == ["widget_id", "widget_name", "chats"]
    assert '\'=HYPERLINK("x")' in [row[1] for row in table]
    assert table[-1][:3] == ["", "total", "8"]


async def test_a_viewer_sees_only_its_own_client(api: AnalyticsApi, dataset: DataSet) -> None:
    # Given a viewer of client A: its own widgets and summary answer
    listed = (await api.get("/v1/analytics/widgets", api.viewer)).json()
    assert {w["id"] for w in listed["widgets"]} == {str(dataset.w1.id), str(dataset.w2.id)}
    own = await api.get(f"/v1/analytics/widgets/{dataset.w1.id}?{RANGE}", api.viewer)
    assert own.status_code == 200 and own.json()["totals"] == W1_TOTAL
    assert (await api.get(f"/v1/analytics/clients/{dataset.client_a.id}", api.viewer)).status_code == 200

    # When it asks for client B's widget, summary or CSV, or for ids that do not exist
    unknown = uuid.uuid4()
    for suffix in ("", "?format=csv", f"?{RANGE}&format=csv"):
        other = await api.get(f"/v1/analytics/widgets/{dataset.w3.id}{suffix}", api.viewer)
        missing = await api.get(f"/v1/analytics/widgets/{unknown}{suffix}", api.viewer)
        # Then the answers are the same 404, byte for byte, and say nothing about it
        assert other.status_code == missing.status_code == 404
        assert (
            other.content == missing.content == b'{"error":{"code":"not_found","message":"No such widget."}}'
        )
        other_client = await api.get(f"/v1/analytics/clients/{dataset.client_b.id}{suffix}", api.viewer)
        missing_client = await api.get(f"/v1/analytics/clients/{unknown}{suffix}", api.viewer)
        assert other_client.status_code == missing_client.status_code == 404
        assert other_client.content == missing_client.content
        assert (
            b"No such client." in other_client.content
            and str(dataset.client_b.id).encode() not in other_client.content
        )

    # And an admin sees everything
    everything = (await api.get("/v1/analytics/widgets")).json()
    assert len(everything["widgets"]) == 3


async def test_the_widget_list_counts_today_and_the_last_30_days(
    api: AnalyticsApi, db_url: str, dataset: DataSet
) -> None:
    # Given two chats of w1 today and one failed, and one eight days ago
    now = datetime.now(UTC).replace(microsecond=0)
    w1 = dataset.w1.id
    insert_logs(db_url, [
        (w1, "t1", now, "Hi", "answered", 0.9, 100, None, None, "Hey"),
        (w1, "t1", now, "Hi again", "answered", 0.9, 100, None, None, "Hey"),
        (w1, "t1", now, "Hm", "failed", None, None, None, None, ""),
        (w1, "t2", now.replace(hour=12) - __import__("datetime").timedelta(days=8), "Old", "answered", 0.9, 100,
         None, None, "Hey"),
    ])  # fmt: skip
    listed = {w["id"]: w for w in (await api.get("/v1/analytics/widgets")).json()["widgets"]}
    assert (listed[str(w1)]["chats_today"], listed[str(w1)]["chats_last_30_days"]) == (2, 3)
    assert listed[str(dataset.w3.id)]["chats_today"] == 0


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-01-12&to=2026-01-10",
        "from=2025-01-01&to=2026-01-10",
        "from=2026-13-01",
        "from=yesterday",
        "tz=Mars/Olympus",
        "tz=../../etc/passwd",
        "format=xlsx",
    ],
)
async def test_bad_ranges_answer_422(api: AnalyticsApi, dataset: DataSet, query: str) -> None:
    for path in (f"/v1/analytics/widgets/{dataset.w1.id}", f"/v1/analytics/clients/{dataset.client_a.id}"):
        response = await api.get(f"{path}?{query}")
        assert response.status_code == 422, (path, query, response.text)
        assert response.json()["error"]["code"] in ("validation_error", "invalid_range", "invalid_time_zone")


async def test_a_write_inside_the_read_only_transaction_fails(db: Database, dataset: DataSet) -> None:
    async def write(conn: Conn) -> None:
        async with analytics_repo.read_only(conn):
            await conn.execute("DELETE FROM chat_logs")

    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        await db.run(write)


async def test_the_connection_writes_again_after_a_read_only_transaction(
    db: Database, dataset: DataSet
) -> None:
    async def read_then_write(conn: Conn) -> int:
        async with analytics_repo.read_only(conn):
            await conn.execute("SELECT 1")
        async with conn.transaction():
            cur = await conn.execute("UPDATE widgets SET name = name WHERE id = %s", [dataset.w1.id])
            return cur.rowcount

    assert await db.run(read_then_write) == 1


async def test_a_read_sees_one_moment_whatever_is_committed_meanwhile(
    db: Database, db_url: str, dataset: DataSet
) -> None:
    async def read_around_a_write(conn: Conn) -> tuple[list[int], str]:
        counts = []
        async with analytics_repo.read_only(conn):
            for _ in range(2):
                cur = await conn.execute("SELECT count(*) AS n FROM chat_logs")
                row = await cur.fetchone()
                assert row is not None
                counts.append(row["n"])
                insert_logs(
                    db_url,
                    [(dataset.w3.id, "late", at(SUN, "09:00"), "Hi?", "answered", 0.9, 1, None, None, "x")],
                )
        cur = await conn.execute("SHOW transaction_isolation")
        after = await cur.fetchone()
        assert after is not None
        return counts, after["transaction_isolation"]

    # A log committed by another connection between two statements of a read is not seen by the
    # second one; the connection is back to the default isolation afterwards
    counts, isolation = await db.run(read_around_a_write)
    assert counts[0] == counts[1] and isolation == "read committed"


async def test_signed_out_callers_get_401(api: AnalyticsApi, dataset: DataSet) -> None:
    assert (await api.get(f"/v1/analytics/widgets/{dataset.w1.id}", {})).status_code == 401


async def test_an_empty_widget_reads_as_zeros(api: AnalyticsApi, db: Database, dataset: DataSet) -> None:
    widget, _ = await make_widget(db, client=dataset.client_a)
    body = (await api.get(f"/v1/analytics/widgets/{widget.id}?from=2026-01-01&to=2026-01-01")).json()
    assert body["totals"]["chats"] == 0 and body["hourly"] == hourly({}) and body["knowledge_gaps"] == []
    assert date.fromisoformat(body["daily"][0]["date"]) == date(2026, 1, 1)
    assert at(SAT, "00:00").date() == SAT
