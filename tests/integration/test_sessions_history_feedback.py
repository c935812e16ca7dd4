"""Sessions survive reloads; history comes from our logs; feedback lands on the session's own reply."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.models import Widget
from shared.services import sessions
from tests.conftest import make_settings
from tests.integration.conftest import PublicApi
from tests.n8n import FakeN8n

KEY = make_settings("postgresql://unused").signing_key_bytes


@pytest.mark.anyio
async def test_a_session_is_renewed_with_its_token(api: PublicApi, widget: Widget) -> None:
    # Given a session started yesterday whose token expired an hour ago
    session_id = "c" * 32
    old, _ = sessions.issue_token(
        KEY, widget_id=widget.id, session_id=session_id, now=datetime.now(UTC) - timedelta(hours=25)
    )
    # When the page reloads and posts the stored id and token
    renewed = await api.client.post(
        f"/v1/widgets/{widget.id}/sessions", json={"session_id": session_id, "token": old}
    )
    # Then the same session continues with a fresh 24-hour token
    assert renewed.status_code == 200, renewed.text
    body = renewed.json()
    assert body["session_id"] == session_id and body["token"] != old
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)


@pytest.mark.anyio
@pytest.mark.parametrize("case", ["beyond grace", "other session id", "id without token", "tampered"])
async def test_renewal_needs_a_genuine_recent_token(api: PublicApi, widget: Widget, case: str) -> None:
    now = datetime.now(UTC)
    token, _ = sessions.issue_token(
        KEY,
        widget_id=widget.id,
        session_id="d" * 32,
        now=now - timedelta(days=8) if case == "beyond grace" else now,
    )
    body = {
        "beyond grace": {"session_id": "d" * 32, "token": token},
        "other session id": {"session_id": "e" * 32, "token": token},
        "id without token": {"session_id": "d" * 32},
        "tampered": {"token": token.replace(".", ".x", 1)},
    }[case]
    response = await api.client.post(f"/v1/widgets/{widget.id}/sessions", json=body)
    assert response.status_code == 401, response.text


@pytest.mark.anyio
async def test_history_restores_the_conversation_in_pages(
    api: PublicApi, widget: Widget, fake_n8n: FakeN8n
) -> None:
    # Given a conversation of three exchanges, the last one failed, and another visitor's chat
    _, token = await api.start_session(widget)
    _, stranger = await api.start_session(widget)
    for text in ("one", "two"):
        assert (await api.send(widget, token, text)).status_code == 200
    fake_n8n.reply({"message": "Error in workflow"}, status=500)
    assert (await api.send(widget, token, "three")).status_code == 502
    await api.send(widget, stranger, "not yours")
    calls_before = len(fake_n8n.received)
    # When the reloaded page reads its history two at a time
    headers = {"Authorization": f"Bearer {token}"}
    first = (await api.client.get(f"/v1/widgets/{widget.id}/messages?limit=2", headers=headers)).json()
    rest = (
        await api.client.get(
            f"/v1/widgets/{widget.id}/messages?limit=2&cursor={first['next_cursor']}", headers=headers
        )
    ).json()
    # Then it gets its own exchanges oldest first, without n8n being called
    items = first["messages"] + rest["messages"]
    assert [i["message"] for i in items] == ["one", "two", "three"]
    assert [i["status"] for i in items] == ["answered", "answered", "failed"]
    assert items[0]["reply"] == "ok" and items[2]["reply"] is None
    assert rest["next_cursor"] is None
    assert len(fake_n8n.received) == calls_before
    bad = await api.client.get(f"/v1/widgets/{widget.id}/messages?cursor=bm9wZQ==", headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"


@pytest.mark.anyio
async def test_feedback_is_recorded_on_the_sessions_own_message_only(api: PublicApi, widget: Widget) -> None:
    _, token = await api.start_session(widget)
    _, stranger = await api.start_session(widget)
    message_id = (await api.send(widget, token, "hello")).json()["message_id"]
    url = f"/v1/widgets/{widget.id}/messages/{message_id}/feedback"
    foreign = await api.client.post(
        url, json={"value": "down"}, headers={"Authorization": f"Bearer {stranger}"}
    )
    unknown = await api.client.post(
        f"/v1/widgets/{widget.id}/messages/{uuid.uuid4()}/feedback",
        json={"value": "up"},
        headers={"Authorization": f"Bearer {token}"},
    )
    mine = await api.client.post(url, json={"value": "up"}, headers={"Authorization": f"Bearer {token}"})
    assert foreign.status_code == 404 and foreign.json()["error"]["code"] == "message_not_found"
    assert unknown.status_code == 404
    assert mine.status_code == 200 and mine.json() == {"message_id": message_id, "feedback": "up"}
    assert [log["feedback"] for log in api.chat_logs()] == ["up"]
