"""Every way a public request can be refused: a clear 4xx, and nothing written that should not be."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.db import Database
from shared.models import Widget
from shared.services import sessions
from tests.conftest import make_settings
from tests.factories import make_widget
from tests.integration.conftest import PublicApi
from tests.n8n import FakeN8n

KEY = make_settings("postgresql://unused").signing_key_bytes


def nothing_written(api: PublicApi) -> bool:
    return api.rows("SELECT (SELECT count(*) FROM chat_logs) + (SELECT count(*) FROM webhook_errors)") == [
        (0,)
    ]


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


@pytest.mark.anyio
@pytest.mark.parametrize("case", ["missing", "not bearer", "tampered", "expired", "other widget", "garbage"])
async def test_bad_tokens_answer_401(
    api: PublicApi, widget: Widget, db: Database, fake_n8n: FakeN8n, case: str
) -> None:
    # Given a token that does not grant this widget's session now
    _, good = await api.start_session(widget)
    other, _ = await make_widget(db)
    now = datetime.now(UTC)
    tokens = {
        "missing": None,
        "not bearer": f"Basic {good}",
        "tampered": good[:-2] + ("AA" if not good.endswith("AA") else "BB"),
        "expired": sessions.issue_token(
            KEY, widget_id=widget.id, session_id="s" * 32, now=now - timedelta(hours=25)
        )[0],
        "other widget": sessions.issue_token(KEY, widget_id=other.id, session_id="s" * 32, now=now)[0],
        "garbage": "v1.not.a-token",
    }
    token = tokens[case]
    headers = {} if token is None else {"Authorization": token if case == "not bearer" else f"Bearer {token}"}
    # When it is used to send a message or read history
    sent = await api.client.post(f"/v1/widgets/{widget.id}/messages", json={"message": "hi"}, headers=headers)
    history = await api.client.get(f"/v1/widgets/{widget.id}/messages", headers=headers)
    # Then both answer 401 and nothing is written or relayed
    expected = {"missing": "missing_token", "not bearer": "missing_token", "expired": "token_expired"}.get(
        case, "invalid_token"
    )
    assert_error(sent, 401, expected)
    assert_error(history, 401, expected)
    assert nothing_written(api) and fake_n8n.received == []


@pytest.mark.anyio
async def test_origins_outside_the_allow_list_are_refused(
    api: PublicApi, db: Database, fake_n8n: FakeN8n
) -> None:
    widget, _ = await make_widget(
        db, webhook_url=fake_n8n.url, config={"allowed_origins": ["https://shop.example"]}
    )
    _, token = await api.start_session(widget, Origin="https://shop.example")
    refused = await api.send(widget, token, Origin="https://evil.example")
    preflight = await api.client.options(
        f"/v1/widgets/{widget.id}/messages",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    allowed = await api.client.options(
        f"/v1/widgets/{widget.id}/messages",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert_error(refused, 403, "origin_not_allowed")
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
    assert "Authorization" in allowed.headers["access-control-allow-headers"]
    assert nothing_written(api) and fake_n8n.received == []


@pytest.mark.anyio
async def test_errors_after_the_origin_check_stay_readable_cross_origin(
    api: PublicApi, widget: Widget
) -> None:
    _, token = await api.start_session(widget)
    response = await api.send(widget, token, "x" * 4001, Origin="https://shop.example")
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == "https://shop.example"


@pytest.mark.anyio
async def test_oversized_messages_and_bodies_answer_413(
    api: PublicApi, widget: Widget, fake_n8n: FakeN8n
) -> None:
    _, token = await api.start_session(widget)
    long_message = await api.send(widget, token, "é" * 4001)
    huge_body = await api.client.post(
        f"/v1/widgets/{widget.id}/messages",
        content=b'{"message": "' + b"a" * 70_000 + b'"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            yield b"a" * 10_000

    streamed = await api.client.post(
        f"/v1/widgets/{widget.id}/messages",
        content=chunks(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    at_limit = await api.send(widget, token, "a" * 4000)
    assert_error(long_message, 413, "message_too_long")
    assert_error(huge_body, 413, "payload_too_large")
    assert_error(streamed, 413, "payload_too_large")
    assert at_limit.status_code == 200
    assert len(api.chat_logs()) == 1 and len(fake_n8n.received) == 1


@pytest.mark.anyio
async def test_per_session_rate_limit_answers_429_with_retry_after(
    api: PublicApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget allowing 2 messages a minute per session
    widget, _ = await make_widget(
        db, webhook_url=fake_n8n.url, config={"rate_limit": {"per_session_per_minute": 2}}
    )
    _, token = await api.start_session(widget)
    _, other_token = await api.start_session(widget)
    # When a session sends a third message within the minute
    results = [await api.send(widget, token) for _ in range(3)]
    # Then it is refused with Retry-After, while another session may still talk
    assert [r.status_code for r in results] == [200, 200, 429]
    assert_error(results[2], 429, "rate_limited")
    assert 1 <= int(results[2].headers["retry-after"]) <= 60
    assert (await api.send(widget, other_token)).status_code == 200
    assert len(api.chat_logs()) == 3 and len(fake_n8n.received) == 3


@pytest.mark.anyio
async def test_per_address_rate_limit_spans_sessions(api: PublicApi, db: Database, fake_n8n: FakeN8n) -> None:
    widget, _ = await make_widget(
        db, webhook_url=fake_n8n.url, config={"rate_limit": {"per_ip_per_minute": 3}}
    )
    tokens = [(await api.start_session(widget))[1] for _ in range(4)]
    statuses = [(await api.send(widget, token)).status_code for token in tokens]
    assert statuses == [200, 200, 200, 429]
    assert len(api.chat_logs()) == 3


@pytest.mark.anyio
@pytest.mark.parametrize("state", ["inactive", "expired demo"])
async def test_unavailable_widgets_refuse_messages(
    api: PublicApi, db: Database, fake_n8n: FakeN8n, state: str
) -> None:
    widget, _ = await make_widget(
        db,
        webhook_url=fake_n8n.url,
        is_active=state != "inactive",
        is_demo=state == "expired demo",
        expires_at=datetime.now(UTC) - timedelta(seconds=1) if state == "expired demo" else None,
    )
    token, _ = sessions.issue_token(KEY, widget_id=widget.id, session_id="a" * 32, now=datetime.now(UTC))
    assert_error(await api.send(widget, token), 404, "widget_not_found")
    assert_error(await api.client.post(f"/v1/widgets/{widget.id}/sessions"), 404, "widget_not_found")
    assert nothing_written(api) and fake_n8n.received == []


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/v1/widgets/not-a-uuid/messages", {"message": "hi"}, 422),
        ("/v1/widgets/{id}/messages", {"message": "   "}, 422),
        ("/v1/widgets/{id}/messages", {"message": "a\u0000b"}, 422),
        ("/v1/widgets/{id}/messages", {"text": "wrong field"}, 422),
        ("/v1/widgets/{id}/messages", {"message": 42}, 422),
        ("/v1/widgets/{id}/messages", {"message": "hi", "metadata": "not an object"}, 422),
        ("/v1/widgets/{id}/messages", b"{not json", 422),
        ("/v1/widgets/{id}/messages", [], 422),
        ("/v1/widgets/{id}/messages/not-a-uuid/feedback", {"value": "up"}, 422),
        ("/v1/widgets/{id}/messages/{random}/feedback", {"value": "meh"}, 422),
        ("/v1/widgets/{id}/sessions", {"session_id": "../../etc"}, 422),
        ("/v1/widgets/{id}/sessions", {"surprise": True}, 422),
    ],
)
async def test_malformed_ids_and_bodies_are_clear_4xx(
    api: PublicApi, widget: Widget, fake_n8n: FakeN8n, path: str, body: Any, status: int
) -> None:
    _, token = await api.start_session(widget)
    url = path.format(id=widget.id, random=uuid.uuid4())
    kwargs: dict[str, Any] = {"content": body} if isinstance(body, bytes) else {"json": body}
    response = await api.client.post(
        url, headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, **kwargs
    )
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) >= {"code", "message"}
    assert nothing_written(api) and fake_n8n.received == []
