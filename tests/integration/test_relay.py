"""POST messages against real local servers that answer as n8n does, in every form and failure mode.

Each case asserts what the visitor gets, the chat_logs row and the webhook_errors row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest

from shared.models import Widget
from tests.integration.conftest import PublicApi
from tests.n8n import EXECUTION_STARTED, NOT_REGISTERED, WORKFLOW_ERROR, FakeN8n, refused_url

FALLBACK = "Acme's assistant is resting. Try again soon."


@pytest.mark.anyio
async def test_the_webhook_receives_a_chat_trigger_body_it_can_verify(
    api: PublicApi, widget: Widget, fake_n8n: FakeN8n
) -> None:
    # Given a visitor session
    session_id, token = await api.start_session(widget)
    # When the visitor sends a message from a page
    response = await api.send(
        widget,
        token,
        {
            "message": "  Opening hours? ",
            "metadata": {"page_url": "https://shop.example/p", "locale": "de-DE"},
        },
    )
    # Then n8n received the Chat Trigger body with the persona
    assert response.status_code == 200, response.text
    [received] = fake_n8n.received
    body = json.loads(received.body)
    message_id = response.json()["message_id"]
    assert body == {
        "action": "sendMessage",
        "sessionId": session_id,
        "chatInput": "Opening hours?",
        "metadata": {
            "widgetId": str(widget.id),
            "clientId": str(widget.client_id),
            "messageId": message_id,
            "pageUrl": "https://shop.example/p",
            "locale": "de-DE",
            "persona": {
                "prompt": "You are Acme's assistant.",
                "personality": "Cheerful",
                "firstMessage": "Hi from Acme!",
            },
        },
    }
    # And the JWT verifies with the widget secret, as n8n's JWT Auth credential does
    secret = widget.widget_secret.get_secret_value()
    scheme, token_sent = received.headers["Authorization"].split(" ")
    claims = jwt.decode(token_sent, secret, algorithms=["HS256"])
    assert scheme == "Bearer"
    assert (claims["sub"], claims["sid"], claims["jti"]) == (str(widget.id), session_id, message_id)
    assert 0 < claims["exp"] - claims["iat"] <= 60
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token_sent, "another-secret-of-sufficient-length-123", algorithms=["HS256"])
    # And the signature header verifies against the raw body; the secret itself never travels
    parts = dict(p.split("=", 1) for p in received.headers["X-Widget-Signature"].split(","))
    expected = hmac.new(
        secret.encode(), parts["t"].encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected)
    assert secret not in received.body.decode() + json.dumps(received.headers)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "reply", "confidence", "topic"),
    [
        pytest.param(
            {"body": {"output": "Open 9-5", "confidence": 0.87, "topic": "hours"}},
            "Open 9-5",
            0.87,
            "hours",
            id="object-output",
        ),
        pytest.param({"body": [{"output": "From an array"}]}, "From an array", None, None, id="array"),
        pytest.param(
            {"body": {"text": "Text field", "confidence": 7}},
            "Text field",
            None,
            None,
            id="text-bad-confidence",
        ),
        pytest.param({"body": {"message": {"text": "Nested"}}}, "Nested", None, None, id="message-text"),
        pytest.param({"body": {"response": "Response field"}}, "Response field", None, None, id="response"),
        pytest.param({"raw": "Just plain text\n"}, "Just plain text", None, None, id="plain-text"),
        pytest.param(
            {"body": {"output": "N\u0000UL", "topic": "\u0000"}}, "NUL", None, None, id="nul-stripped"
        ),
        pytest.param(
            {
                "raw": b"",
                "content_type": "application/json; charset=utf-8",
                "chunks": [
                    b'{"type":"begin","metadata":{"nodeName":"Agent"}}\n',
                    b'{"type":"item","content":"Stre","metadata":{}}\n',
                    b'{"type":"item","content":"amed!","metadata":{}}\n',
                    b'{"type":"end","metadata":{}}\n',
                ],
            },
            "Streamed!",
            None,
            None,
            id="ndjson-stream",
        ),
    ],
)
async def test_every_reply_form_is_understood_and_logged(
    api: PublicApi,
    widget: Widget,
    fake_n8n: FakeN8n,
    answer: dict[str, Any],
    reply: str,
    confidence: float | None,
    topic: str | None,
) -> None:
    # Given n8n answering in one of its forms
    if "raw" in answer and isinstance(answer["raw"], str):
        answer = {**answer, "raw": answer["raw"].encode()}
    fake_n8n.reply(
        answer.get("body"),
        raw=answer.get("raw"),
        content_type=answer.get("content_type"),
        chunks=answer.get("chunks"),
    )
    session_id, token = await api.start_session(widget)
    # When the visitor sends a message
    response = await api.send(widget, token, "Hi")
    # Then the visitor gets the reply
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["reply"], body["confidence"]) == (reply, confidence)
    # And the exchange is logged as answered, with no webhook error
    [log] = api.chat_logs()
    assert (log["status"], log["message"], log["response"], log["confidence"], log["topic"]) == (
        "answered",
        "Hi",
        reply,
        confidence,
        topic,
    )
    assert log["user_id"] == session_id and str(log["id"]) == body["message_id"]
    assert log["response_time_ms"] is not None and log["response_time_ms"] >= 0
    assert api.webhook_errors() == []


STREAM_ERROR = [b'{"type":"begin","metadata":{}}\n', b'{"type":"error","content":"Agent exploded"}\n']


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("answer", "status", "error_type", "detail"),
    [
        pytest.param(
            {"body": NOT_REGISTERED, "status": 404},
            502,
            "not_registered",
            "is not registered",
            id="not-registered",
        ),
        pytest.param(
            {"body": WORKFLOW_ERROR, "status": 500},
            502,
            "workflow_error",
            "Error in workflow",
            id="workflow-error",
        ),
        pytest.param(
            {"body": {"message": "Bad gateway"}, "status": 503}, 502, "http_5xx", "HTTP 503", id="http-5xx"
        ),
        pytest.param(
            {"body": {"message": "Authorization data is wrong!"}, "status": 403},
            502,
            "http_4xx",
            "HTTP 403",
            id="jwt-refused",
        ),
        pytest.param(
            {"body": {"output": "too late"}, "delay": 1.5},
            504,
            "timeout",
            "no reply within 1 s",
            id="timeout",
        ),
        pytest.param(
            {"raw": b"x" * (256 * 1024 + 1)}, 502, "too_large", "exceeds 262144 bytes", id="too-large"
        ),
        pytest.param(
            {"raw": b'{"output": "unterminated', "content_type": "application/json"},
            502,
            "invalid_response",
            "invalid JSON",
            id="invalid-json",
        ),
        pytest.param(
            {"body": {"result": "no known field"}},
            502,
            "invalid_response",
            "no output, text",
            id="no-reply-field",
        ),
        pytest.param(
            {"body": EXECUTION_STARTED},
            502,
            "unsupported_response",
            "executionStarted",
            id="execution-started",
        ),
        pytest.param(
            {"body": {"message": "Workflow was started"}},
            502,
            "unsupported_response",
            "responds immediately",
            id="workflow-started",
        ),
        pytest.param(
            {"raw": b"", "chunks": STREAM_ERROR, "content_type": "application/json"},
            502,
            "workflow_error",
            "Agent exploded",
            id="stream-error",
        ),
    ],
)
async def test_every_failure_gives_the_fallback_and_loses_nothing(
    api: PublicApi,
    widget: Widget,
    fake_n8n: FakeN8n,
    answer: dict[str, Any],
    status: int,
    error_type: str,
    detail: str,
) -> None:
    # Given n8n failing in one of its ways
    fake_n8n.reply(
        answer.get("body"),
        status=answer.get("status", 200),
        raw=answer.get("raw"),
        content_type=answer.get("content_type"),
        delay=answer.get("delay", 0.0),
        chunks=answer.get("chunks"),
    )
    session_id, token = await api.start_session(widget)
    # When the visitor sends a message
    response = await api.send(widget, token, "Are you there?")
    # Then the visitor gets the widget's fallback message with 502 (504 on timeout)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"] == FALLBACK
    assert error["code"] == ("bot_timeout" if status == 504 else "bot_unavailable")
    # And the message is logged as failed, with the webhook error explaining why
    [log] = api.chat_logs()
    assert (log["status"], log["message"], log["response"], log["user_id"]) == (
        "failed",
        "Are you there?",
        "",
        session_id,
    )
    assert str(log["id"]) == error["message_id"]
    [failure] = api.webhook_errors()
    assert failure["error_type"] == error_type and failure["widget_id"] == widget.id
    assert detail in failure["error_message"], failure["error_message"]
    # And nothing internal reaches the visitor
    assert detail not in response.text and widget.webhook_url not in response.text


@pytest.mark.anyio
async def test_a_refused_connection_is_unreachable(api: PublicApi, db: Any) -> None:
    from tests.factories import make_widget

    widget, _ = await make_widget(db, webhook_url=refused_url())
    _, token = await api.start_session(widget)
    response = await api.send(widget, token)
    assert response.status_code == 502
    [failure] = api.webhook_errors()
    assert failure["error_type"] == "unreachable" and "cannot connect" in failure["error_message"]
    assert [log["status"] for log in api.chat_logs()] == ["failed"]


@pytest.mark.anyio
async def test_relay_metrics_are_emitted(
    api: PublicApi, widget: Widget, fake_n8n: FakeN8n, capsys: pytest.CaptureFixture[str]
) -> None:
    from shared.observability import metrics

    _, token = await api.start_session(widget)
    assert (await api.send(widget, token)).status_code == 200
    metrics.flush_metrics()
    fake_n8n.reply(WORKFLOW_ERROR, status=500)
    assert (await api.send(widget, token)).status_code == 502
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    names = {m["Name"] for e in emitted for d in e["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"RelayedMessages", "RelayLatency", "RelayFailures"} <= names
    assert any(e.get("ErrorType") == "workflow_error" for e in emitted)
