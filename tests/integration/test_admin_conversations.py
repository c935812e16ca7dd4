"""Admin review and erasure of conversations: chat logs newest first and cursor-paged, a widget's
conversations summed up per session, one visitor's erasure, bulk deletes of a widget's logs."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from shared.db import Database
from shared.models import Widget
from tests.conftest import LogCapture
from tests.factories import make_client, make_widget
from tests.integration.conftest import OperatorApi, make_user

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Log:
    id: uuid.UUID
    widget: str
    session: str
    at: datetime
    status: str
    feedback: str | None


@dataclass
class Seeded:
    widgets: dict[str, Widget]
    logs: list[Log]

    def expected(self, **where: Any) -> list[str]:
        """Ids of the logs matching `where` (attribute equality), newest first by (time, id)."""
        chosen = [log for log in self.logs if all(getattr(log, k) == v for k, v in where.items())]
        return [str(log.id) for log in sorted(chosen, key=lambda log: (log.at, log.id), reverse=True)]


# (widget, session, minutes after T0, status, feedback). Session "s1" exists under both widgets;
# the two "s4" rows share one timestamp, so only the id orders them.
ROWS = [
    ("a", "s1", 0, "answered", "up"),
    ("a", "s1", 1, "failed", None),
    ("a", "s1", 2, "answered", "down"),
    ("a", "s1", 10, "answered", "up"),
    ("a", "s2", 5, "answered", None),
    ("a", "s2", 6, "answered", "down"),
    ("a", "s3", 3, "failed", None),
    ("a", "s4", 7, "answered", "up"),
    ("a", "s4", 7, "answered", None),
    ("b", "s1", 4, "answered", "up"),
    ("b", "s1", 20, "failed", None),
]


@pytest.fixture
async def seeded(operator: OperatorApi, db: Database) -> Seeded:
    """Given two widgets of two clients, with the logs of ROWS at known times."""
    widget_a, _ = await make_widget(db)
    widget_b, _ = await make_widget(db)
    widgets = {"a": widget_a, "b": widget_b}
    logs = []
    for key, session, minutes, status, feedback in ROWS:
        log = Log(uuid.uuid4(), key, session, T0 + timedelta(minutes=minutes), status, feedback)
        operator.rows(
            "INSERT INTO chat_logs (id, widget_id, user_id, message, response, status, feedback, "
            "                       confidence, response_time_ms, topic, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, 0.5, 120, 'billing', %s) RETURNING id",
            log.id,
            widgets[key].id,
            session,
            f"question {key}/{session}/{minutes}",
            "" if status == "failed" else "an answer",
            status,
            feedback,
            log.at,
        )
        logs.append(log)
    return Seeded(widgets, logs)


async def _all_pages(operator: OperatorApi, query: str, limit: int) -> tuple[list[str], int]:
    """Every item id of a cursor-paged chat-logs listing, in order, and how many pages it took."""
    ids: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = await operator.client.get(f"/v1/admin/chat-logs?{params}", headers=operator.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        ids += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return ids, pages


async def test_chat_logs_come_newest_first_and_the_cursor_covers_every_row_once(
    operator: OperatorApi, seeded: Seeded
) -> None:
    # When every log is read three at a time
    ids, pages = await _all_pages(operator, "", limit=3)
    # Then each one comes exactly once, newest first (ties broken by id), in ceil(11 / 3) pages
    assert ids == seeded.expected()
    assert pages == 4
    # And one widget's logs page the same way
    only_a, _ = await _all_pages(operator, f"widget_id={seeded.widgets['a'].id}", limit=2)
    assert only_a == seeded.expected(widget="a")
    # And an exact last page says there is no next one
    exact, pages = await _all_pages(operator, f"widget_id={seeded.widgets['b'].id}", limit=2)
    assert len(exact) == 2 and pages == 1


async def test_a_chat_log_shows_every_field(operator: OperatorApi, seeded: Seeded) -> None:
    response = await operator.client.get("/v1/admin/chat-logs?limit=1", headers=operator.auth)
    (item,) = response.json()["items"]
    newest = seeded.logs[-1]
    assert item == {
        "id": str(newest.id),
        "widget_id": str(seeded.widgets["b"].id),
        "session_id": "s1",
        "message": "question b/s1/20",
        "response": "",
        "status": "failed",
        "confidence": 0.5,
        "feedback": None,
        "response_time_ms": 120,
        "topic": "billing",
        "created_at": "2025-03-01T12:20:00Z",
    }


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("session_id=s1", {"widget": "a", "session": "s1"}),
        ("status=failed", {"widget": "a", "status": "failed"}),
        ("status=answered&feedback=up", {"widget": "a", "status": "answered", "feedback": "up"}),
        ("feedback=down", {"widget": "a", "feedback": "down"}),
        ("feedback=none", {"widget": "a", "feedback": None}),
    ],
)
async def test_chat_logs_filter_by_session_status_and_feedback(
    operator: OperatorApi, seeded: Seeded, query: str, where: dict[str, Any]
) -> None:
    ids, _ = await _all_pages(operator, f"widget_id={seeded.widgets['a'].id}&{query}", limit=2)
    assert ids == seeded.expected(**where)
    assert ids  # the filter matched something


async def test_chat_logs_filter_by_a_half_open_time_range(operator: OperatorApi, seeded: Seeded) -> None:
    # from 12:02 (inclusive) to 12:07 (exclusive), given in another timezone
    start = (T0 + timedelta(minutes=2)).astimezone(timezone(timedelta(hours=2))).isoformat()
    query = f"from={start.replace('+', '%2B')}&to=2025-03-01T12:07:00Z"
    ids, _ = await _all_pages(operator, query, limit=50)
    in_range = [log for log in seeded.logs if T0 + timedelta(minutes=2) <= log.at < T0 + timedelta(minutes=7)]
    assert ids == [str(log.id) for log in sorted(in_range, key=lambda log: (log.at, log.id), reverse=True)]
    assert len(ids) == 5  # a@2, a@3, b@4, a@5, a@6


async def test_a_session_id_under_another_widget_is_another_conversation(
    operator: OperatorApi, seeded: Seeded
) -> None:
    ids, _ = await _all_pages(operator, f"widget_id={seeded.widgets['b'].id}&session_id=s1", limit=50)
    assert ids == seeded.expected(widget="b", session="s1")


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("cursor=bm9wZQ", "invalid_cursor"),
        ("cursor=%F0%9F%98%80", "invalid_cursor"),
        (f"cursor={_cursor('2025-03-01T12:00:00|' + str(uuid.UUID(int=1)))}", "invalid_cursor"),
        (f"cursor={_cursor('2025-03-01T12:00:00+00:00|not-a-uuid')}", "invalid_cursor"),
        (f"cursor={_cursor('2025-03-01T12:00:00+00:00|x|y')}", "invalid_cursor"),
        ("from=2025-03-01T12:00:00", "validation_error"),  # no timezone
        ("to=yesterday", "validation_error"),
        ("from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", "invalid_range"),
        ("status=pending", "validation_error"),
        ("feedback=meh", "validation_error"),
        ("session_id=s1", "widget_required"),
        ("widget_id=nope", "validation_error"),
        ("limit=0", "validation_error"),
        ("limit=201", "validation_error"),
    ],
)
async def test_bad_chat_log_queries_answer_422(operator: OperatorApi, query: str, code: str) -> None:
    response = await operator.client.get(f"/v1/admin/chat-logs?{query}", headers=operator.auth)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "cursor_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2025-03-01T12:05:00+05:30:15"]
)
async def test_a_well_formed_cursor_at_any_time_is_answered(
    operator: OperatorApi, seeded: Seeded, cursor_at: str
) -> None:
    cursor = _cursor(f"{cursor_at}|{uuid.UUID(int=0)}")
    response = await operator.client.get(f"/v1/admin/chat-logs?cursor={cursor}", headers=operator.auth)
    assert response.status_code == 200, response.text


async def test_a_session_id_with_a_nul_is_refused_not_a_500(operator: OperatorApi, seeded: Seeded) -> None:
    widget = seeded.widgets["a"]
    listed = await operator.client.get(
        f"/v1/admin/chat-logs?widget_id={widget.id}&session_id=%00", headers=operator.auth
    )
    erased = await operator.client.delete(
        f"/v1/admin/widgets/{widget.id}/conversations/a%00b", headers=operator.auth
    )
    bulk = await operator.client.post(
        "/v1/admin/chat-logs/bulk-delete",
        json={"widget_id": str(widget.id), "session_id": "\x00"},
        headers=operator.auth,
    )
    assert listed.status_code == erased.status_code == bulk.status_code == 422


async def test_conversations_sum_up_each_session_most_recent_first(
    operator: OperatorApi, seeded: Seeded
) -> None:
    response = await operator.client.get(
        f"/v1/admin/widgets/{seeded.widgets['a'].id}/conversations", headers=operator.auth
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 4 and body["limit"] == 50 and body["offset"] == 0
    assert body["items"] == [
        {
            "session_id": "s1",
            "first_message_at": "2025-03-01T12:00:00Z",
            "last_message_at": "2025-03-01T12:10:00Z",
            "message_count": 4,
            "failed_count": 1,
            "feedback": {"up": 2, "down": 1},
        },
        {
            "session_id": "s4",
            "first_message_at": "2025-03-01T12:07:00Z",
            "last_message_at": "2025-03-01T12:07:00Z",
            "message_count": 2,
            "failed_count": 0,
            "feedback": {"up": 1, "down": 0},
        },
        {
            "session_id": "s2",
            "first_message_at": "2025-03-01T12:05:00Z",
            "last_message_at": "2025-03-01T12:06:00Z",
            "message_count": 2,
            "failed_count": 0,
            "feedback": {"up": 0, "down": 1},
        },
        {
            "session_id": "s3",
            "first_message_at": "2025-03-01T12:03:00Z",
            "last_message_at": "2025-03-01T12:03:00Z",
            "message_count": 1,
            "failed_count": 1,
            "feedback": {"up": 0, "down": 0},
        },
    ]


async def test_conversations_count_only_messages_in_the_range_and_page_by_offset(
    operator: OperatorApi, seeded: Seeded
) -> None:
    path = f"/v1/admin/widgets/{seeded.widgets['a'].id}/conversations"
    # Given the range 12:01-12:06: s1 has two messages in it (12:01 failed, 12:02 down), s2 one, s3 one
    in_range = "from=2025-03-01T12:01:00Z&to=2025-03-01T12:06:00Z"
    body = (await operator.client.get(f"{path}?{in_range}", headers=operator.auth)).json()
    assert [(c["session_id"], c["message_count"], c["failed_count"]) for c in body["items"]] == [
        ("s2", 1, 0),
        ("s3", 1, 1),
        ("s1", 2, 1),
    ]
    assert body["items"][2]["last_message_at"] == "2025-03-01T12:02:00Z"
    assert body["items"][2]["feedback"] == {"up": 0, "down": 1}
    # When paged two at a time, and past the end
    first = (await operator.client.get(f"{path}?limit=2", headers=operator.auth)).json()
    second = (await operator.client.get(f"{path}?limit=2&offset=2", headers=operator.auth)).json()
    beyond = (await operator.client.get(f"{path}?limit=2&offset=10", headers=operator.auth)).json()
    # Then every session comes once and the total stays
    assert [c["session_id"] for c in first["items"] + second["items"]] == ["s1", "s4", "s2", "s3"]
    assert first["total"] == second["total"] == beyond["total"] == 4
    assert beyond["items"] == []


async def test_conversation_queries_check_the_range(operator: OperatorApi, seeded: Seeded) -> None:
    path = f"/v1/admin/widgets/{seeded.widgets['a'].id}/conversations"
    backwards = await operator.client.get(
        f"{path}?from=2025-03-02T00:00:00Z&to=2025-03-01T00:00:00Z", headers=operator.auth
    )
    naive = await operator.client.get(f"{path}?to=2025-03-01T00:00:00", headers=operator.auth)
    huge = await operator.client.get(f"{path}?offset=99999999999999999999", headers=operator.auth)
    assert backwards.json()["error"]["code"] == "invalid_range"
    assert naive.status_code == huge.status_code == backwards.status_code == 422


async def test_erasing_a_conversation_removes_only_that_session_of_that_widget(
    operator: OperatorApi, seeded: Seeded, platform_logs: LogCapture
) -> None:
    widget = seeded.widgets["a"]
    # When the visitor's conversation s1 of widget a is erased
    response = await operator.client.delete(
        f"/v1/admin/widgets/{widget.id}/conversations/s1", headers=operator.auth
    )
    # Then its four logs went, and nothing else
    assert response.status_code == 200, response.text
    assert response.json() == {
        "clients": 0,
        "widgets": 0,
        "chat_logs": 4,
        "analytics": 0,
        "webhook_errors": 0,
        "users": 0,
    }
    assert operator.count("chat_logs", "widget_id = %s AND user_id = 's1'", widget.id) == 0
    assert operator.count("chat_logs", "widget_id = %s AND user_id = 's1'", seeded.widgets["b"].id) == 2
    assert operator.count("chat_logs") == len(ROWS) - 4
    # And the erasure is in the audit trail
    (line,) = [line for line in platform_logs.named("audit") if line["action"] == "conversation.erase"]
    assert line["widget_id"] == str(widget.id) and line["session_id"] == "s1" and line["chat_logs"] == 4
    assert line["actor"] == str(operator.admin.id)
    # And erasing it again is a harmless no-op
    again = await operator.client.delete(
        f"/v1/admin/widgets/{widget.id}/conversations/s1", headers=operator.auth
    )
    assert again.status_code == 200 and again.json()["chat_logs"] == 0


async def test_bulk_delete_before_a_time(
    operator: OperatorApi, seeded: Seeded, platform_logs: LogCapture
) -> None:
    widget = seeded.widgets["a"]
    response = await operator.client.post(
        "/v1/admin/chat-logs/bulk-delete",
        json={"widget_id": str(widget.id), "before": "2025-03-01T12:05:00Z"},
        headers=operator.auth,
    )
    assert response.status_code == 200, response.text
    assert response.json()["chat_logs"] == 4  # a@0, a@1, a@2, a@3 (a@5 is not before 12:05)
    remaining = {row[0] for row in operator.rows("SELECT id FROM chat_logs")}
    gone = {log.id for log in seeded.logs if log.widget == "a" and log.at < T0 + timedelta(minutes=5)}
    assert remaining == {log.id for log in seeded.logs} - gone
    (line,) = [line for line in platform_logs.named("audit") if line["action"] == "chat_logs.bulk_delete"]
    assert line["widget_id"] == str(widget.id) and line["chat_logs"] == 4 and line["all"] is False


async def test_bulk_delete_of_a_session_and_a_time_together(operator: OperatorApi, seeded: Seeded) -> None:
    widget = seeded.widgets["a"]
    response = await operator.client.post(
        "/v1/admin/chat-logs/bulk-delete",
        json={"widget_id": str(widget.id), "session_id": "s1", "before": "2025-03-01T12:02:00+00:00"},
        headers=operator.auth,
    )
    assert response.json()["chat_logs"] == 2  # s1 at 12:00 and 12:01
    assert operator.count("chat_logs", "user_id = 's1'") == 4  # a's 12:02 and 12:10, b's two


async def test_bulk_delete_of_several_sessions_at_once_spares_the_others(
    operator: OperatorApi, seeded: Seeded, platform_logs: LogCapture
) -> None:
    widget = seeded.widgets["a"]
    url = "/v1/admin/chat-logs/bulk-delete"
    # Refused, deleting nothing: both forms at once, an empty list, too many, a NUL in one of them
    for body in (
        {"widget_id": str(widget.id), "session_id": "s1", "session_ids": ["s2"]},
        {"widget_id": str(widget.id), "session_ids": []},
        {"widget_id": str(widget.id), "session_ids": [f"s{i}" for i in range(1001)]},
        {"widget_id": str(widget.id), "session_ids": ["s2", "s\x00"]},
        {"widget_id": str(widget.id), "session_ids": ["s2"], "all": True},
    ):
        refused = await operator.client.post(url, json=body, headers=operator.auth)
        assert refused.status_code == 422, (body, refused.text)
        assert refused.json()["error"]["code"]
    assert operator.count("chat_logs") == len(ROWS)
    # s1, s3 and an unknown session of widget a: a's s1 and s3 go; b's s1, a's s2 and s4 stay
    response = await operator.client.post(
        url, json={"widget_id": str(widget.id), "session_ids": ["s1", "s3", "gone"]}, headers=operator.auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["chat_logs"] == 5
    remaining = {row[0] for row in operator.rows("SELECT id FROM chat_logs")}
    gone = {log.id for log in seeded.logs if log.widget == "a" and log.session in ("s1", "s3")}
    assert remaining == {log.id for log in seeded.logs} - gone
    (line,) = [line for line in platform_logs.named("audit") if line["action"] == "chat_logs.bulk_delete"]
    assert line["session_ids"] == ["s1", "s3", "gone"] and line["chat_logs"] == 5 and line["all"] is False


async def test_bulk_delete_of_everything_needs_all_true_and_spares_other_widgets(
    operator: OperatorApi, seeded: Seeded, platform_logs: LogCapture
) -> None:
    widget = seeded.widgets["a"]
    url = "/v1/admin/chat-logs/bulk-delete"
    # An empty filter, or `all` beside a filter, is refused and deletes nothing
    for body in (
        {"widget_id": str(widget.id)},
        {"widget_id": str(widget.id), "all": False},
        {"widget_id": str(widget.id), "all": True, "session_id": "s1"},
        {"widget_id": str(widget.id), "before": "2025-03-01T12:05:00"},  # naive time
        {"widget_id": str(widget.id), "all": True, "extra": 1},
    ):
        refused = await operator.client.post(url, json=body, headers=operator.auth)
        assert refused.status_code == 422, (body, refused.text)
    assert operator.count("chat_logs") == len(ROWS)
    # `all: true` deletes every log of that widget only
    response = await operator.client.post(
        url, json={"widget_id": str(widget.id), "all": True}, headers=operator.auth
    )
    assert response.status_code == 200 and response.json()["chat_logs"] == 9
    assert operator.count("chat_logs") == 2
    assert operator.count("chat_logs", "widget_id = %s", seeded.widgets["b"].id) == 2
    (line,) = [line for line in platform_logs.named("audit") if line["action"] == "chat_logs.bulk_delete"]
    assert line["all"] is True and line["chat_logs"] == 9


async def test_an_unknown_widget_answers_404_everywhere(operator: OperatorApi, seeded: Seeded) -> None:
    unknown = uuid.uuid4()
    responses = [
        await operator.client.get(f"/v1/admin/chat-logs?widget_id={unknown}", headers=operator.auth),
        await operator.client.get(f"/v1/admin/widgets/{unknown}/conversations", headers=operator.auth),
        await operator.client.delete(f"/v1/admin/widgets/{unknown}/conversations/s1", headers=operator.auth),
        await operator.client.post(
            "/v1/admin/chat-logs/bulk-delete",
            json={"widget_id": str(unknown), "all": True},
            headers=operator.auth,
        ),
    ]
    for response in responses:
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "widget_not_found"
    assert operator.count("chat_logs") == len(ROWS)


async def test_a_client_viewer_is_refused(operator: OperatorApi, seeded: Seeded, db: Database) -> None:
    client = await make_client(db)
    await make_user(
        db, email="viewer@client.test", password="viewer password 1", role="client", client_id=client.id
    )
    viewer = {"Authorization": f"Bearer {await operator.sign_in('viewer@client.test', 'viewer password 1')}"}
    widget = seeded.widgets["a"]
    responses = [
        await operator.client.get(f"/v1/admin/chat-logs?widget_id={widget.id}", headers=viewer),
        await operator.client.get(f"/v1/admin/widgets/{widget.id}/conversations", headers=viewer),
        await operator.client.delete(f"/v1/admin/widgets/{widget.id}/conversations/s1", headers=viewer),
        await operator.client.post(
            "/v1/admin/chat-logs/bulk-delete", json={"widget_id": str(widget.id), "all": True}, headers=viewer
        ),
    ]
    assert [r.status_code for r in responses] == [403] * 4
    assert operator.count("chat_logs") == len(ROWS)
