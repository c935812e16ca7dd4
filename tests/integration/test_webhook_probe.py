"""The webhook health probe when an admin saves a widget or tests its webhook: signed like a real
message, any 2xx healthy, every failure classified, recorded on the widget and in webhook_errors;
and the webhook URL policy at save time."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from shared.api import admin, auth
from shared.api.app import build_app
from shared.db import Database
from shared.models import Client
from tests.conftest import make_settings
from tests.factories import make_client
from tests.integration.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, OperatorApi
from tests.n8n import NOT_REGISTERED, FakeN8n, refused_url

pytestmark = pytest.mark.anyio


async def post_widget(
    operator: OperatorApi, client: Client, url: str, name: str = "Support"
) -> httpx.Response:
    return await operator.client.post(
        "/v1/admin/widgets",
        json={"client_id": str(client.id), "name": name, "webhook_url": url},
        headers=operator.auth,
    )


def health(operator: OperatorApi, widget_id: str) -> tuple[Any, ...]:
    return operator.rows(
        "SELECT health_status, consecutive_failures, last_error_type, last_latency_ms IS NOT NULL, "
        "health_checked_at IS NOT NULL FROM widgets WHERE id = %s",
        widget_id,
    )[0]


def errors(operator: OperatorApi, widget_id: str) -> list[tuple[Any, ...]]:
    return operator.rows(
        "SELECT error_type, error_message FROM webhook_errors WHERE widget_id = %s ORDER BY occurred_at",
        widget_id,
    )


async def test_a_healthy_webhook_gets_a_signed_load_previous_session_probe(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given n8n's Chat Trigger, which answers the probe with {"data": []}
    fake_n8n.reply({"data": []})
    client = await make_client(db)
    # When a widget is created
    response = await post_widget(operator, client, fake_n8n.url)
    # Then the webhook got one probe, signed like a real message
    assert response.status_code == 201, response.text
    body = response.json()
    widget_id, secret = body["id"], body["widget_secret"]
    [probe] = fake_n8n.received
    assert json.loads(probe.body) == {
        "action": "loadPreviousSession",
        "sessionId": f"healthcheck-{widget_id}",
        "metadata": {"healthCheck": True, "widgetId": widget_id, "clientId": str(client.id)},
    }
    claims = jwt.decode(probe.headers["Authorization"].removeprefix("Bearer "), secret, algorithms=["HS256"])
    assert claims["sub"] == widget_id and claims["sid"] == f"healthcheck-{widget_id}"
    stamp, signature = (part.split("=", 1)[1] for part in probe.headers["X-Widget-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{stamp}.".encode() + probe.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    # and the answer says it is healthy, as the widget's row does
    test = body["webhook_test"]
    assert test["ok"] is True and test["status"] == 200 and test["error_type"] is None
    assert test["detail"] is None and test["latency_ms"] >= 0
    assert body["health_status"] == "healthy" and body["last_latency_ms"] == test["latency_ms"]
    assert health(operator, widget_id) == ("healthy", 0, None, True, True)
    assert errors(operator, widget_id) == []


@pytest.mark.parametrize(
    ("reply", "error_type", "status", "words"),
    [
        ({"body": NOT_REGISTERED, "status": 404}, "not_registered", 404, "is the workflow active"),
        ({"body": {"message": "Authorization data is wrong!"}, "status": 403}, "http_4xx", 403, "secret"),
        ({"body": {"message": "Authorization is required!"}, "status": 401}, "http_4xx", 401, "JWT"),
        (
            {"body": {"message": "Error in workflow"}, "status": 500},
            "workflow_error",
            500,
            "Error in workflow",
        ),
        ({"body": "<html>bad gateway</html>", "status": 502}, "http_5xx", 502, "HTTP 502"),
    ],
)
async def test_a_failing_webhook_is_saved_flagged_and_logged(
    operator: OperatorApi,
    db: Database,
    fake_n8n: FakeN8n,
    reply: dict[str, Any],
    error_type: str,
    status: int,
    words: str,
) -> None:
    # Given a webhook that answers with an error
    fake_n8n.reply(reply["body"], status=reply["status"])
    client = await make_client(db)
    # When a widget is created with it
    response = await post_widget(operator, client, fake_n8n.url)
    # Then the widget is saved, but the answer and the row say it fails, and why
    assert response.status_code == 201, response.text
    body = response.json()
    test = body["webhook_test"]
    assert test["ok"] is False and test["error_type"] == error_type and test["status"] == status
    assert words in test["detail"]
    assert body["health_status"] == "failing" and body["last_error_type"] == error_type
    assert health(operator, body["id"]) == ("failing", 1, error_type, True, True)
    [(logged_type, message)] = errors(operator, body["id"])
    assert logged_type == error_type and words in message


async def test_an_unreachable_or_slow_webhook_is_flagged(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    client = await make_client(db)
    # Nothing listening
    refused = (await post_widget(operator, client, refused_url(), name="Refused")).json()
    assert (
        refused["webhook_test"]["error_type"] == "unreachable" and refused["webhook_test"]["status"] is None
    )
    assert health(operator, refused["id"])[:3] == ("failing", 1, "unreachable")
    # A webhook slower than the probe's timeout (the operator app's webhook timeout, 2 s)
    fake_n8n.reply({"data": []}, delay=3.0)
    slow = (await post_widget(operator, client, fake_n8n.url, name="Slow")).json()
    assert slow["webhook_test"]["error_type"] == "timeout"
    assert 1900 <= slow["webhook_test"]["latency_ms"] < 3000
    assert health(operator, slow["id"])[:3] == ("failing", 1, "timeout")
    assert [e[0] for e in errors(operator, slow["id"])] == ["timeout"]


async def test_test_webhook_records_failures_in_a_row_and_the_recovery(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget whose webhook fails
    fake_n8n.reply(NOT_REGISTERED, status=404)
    client = await make_client(db)
    widget_id = (await post_widget(operator, client, fake_n8n.url)).json()["id"]
    # When it is tested again, still failing
    again = await operator.client.post(f"/v1/admin/widgets/{widget_id}/test-webhook", headers=operator.auth)
    # Then the failures in a row grow, each one logged
    assert again.status_code == 200, again.text
    assert again.json()["webhook_test"]["error_type"] == "not_registered"
    assert again.json()["consecutive_failures"] == 2
    assert len(errors(operator, widget_id)) == 2
    # And once the workflow answers, it is healthy again with no failures in a row
    fake_n8n.reply({"output": "pong"})
    healed = await operator.client.post(f"/v1/admin/widgets/{widget_id}/test-webhook", headers=operator.auth)
    assert healed.json()["webhook_test"]["ok"] is True
    assert health(operator, widget_id)[:3] == ("healthy", 0, None)
    assert len(errors(operator, widget_id)) == 2


async def test_changing_the_webhook_probes_the_new_one(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a healthy widget
    client = await make_client(db)
    widget_id = (await post_widget(operator, client, fake_n8n.url)).json()["id"]
    # When its webhook is changed to one where nothing listens
    changed = await operator.client.patch(
        f"/v1/admin/widgets/{widget_id}", json={"webhook_url": refused_url()}, headers=operator.auth
    )
    # Then the new webhook is probed, and the widget flagged, its failures counted afresh
    assert changed.status_code == 200, changed.text
    assert changed.json()["webhook_test"]["error_type"] == "unreachable"
    assert health(operator, widget_id)[:3] == ("failing", 1, "unreachable")
    # And changed back, it is probed and healthy again
    back = await operator.client.patch(
        f"/v1/admin/widgets/{widget_id}", json={"webhook_url": fake_n8n.url}, headers=operator.auth
    )
    assert back.json()["webhook_test"]["ok"] is True
    assert health(operator, widget_id)[:3] == ("healthy", 0, None)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",
        "https://169.254.169.254/x",
        "https://10.0.0.1/x",
        "https://192.168.1.10/webhook",
        "https://[::ffff:169.254.169.254]/x",
        "https://[fe80::1]/x",
        "https://0.0.0.0/x",
        "ftp://n8n.example.com/x",
        "https://user:pass@n8n.example.com/webhook",
    ],
)
async def test_refused_webhook_urls_answer_422_at_webhook_url(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n, url: str
) -> None:
    client = await make_client(db)
    # On create
    response = await post_widget(operator, client, url)
    assert response.status_code == 422, response.text
    assert ["body", "webhook_url"] in [d["loc"] for d in response.json()["error"]["details"]]
    assert operator.count("widgets") == 0
    # and on change
    widget_id = (await post_widget(operator, client, fake_n8n.url)).json()["id"]
    changed = await operator.client.patch(
        f"/v1/admin/widgets/{widget_id}", json={"webhook_url": url}, headers=operator.auth
    )
    assert changed.status_code == 422
    assert ["body", "webhook_url"] in [d["loc"] for d in changed.json()["error"]["details"]]
    assert operator.rows("SELECT webhook_url FROM widgets WHERE id = %s", widget_id) == [(fake_n8n.url,)]
    assert "pass" not in changed.text


@pytest.fixture
async def production(
    operator: OperatorApi, db_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """The admin API as deployed: no insecure (http, loopback) webhooks; the operator's admin signed in."""
    settings = make_settings(
        db_url, environment="production", signing_key="k" * 40, allow_insecure_webhooks=False
    )
    app = build_app(title="production", routers=[auth.router, *admin.ROUTERS], settings=settings, relay=True)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://platform.test") as client:
        login = await client.post("/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        assert login.status_code == 200, login.text
        yield client, {"Authorization": f"Bearer {login.json()['access_token']}"}
    await app.state.resources.aclose()


async def test_outside_development_http_and_names_resolving_to_loopback_are_refused(
    production: tuple[httpx.AsyncClient, dict[str, str]],
    operator: OperatorApi,
    db: Database,
    fake_n8n: FakeN8n,
) -> None:
    client, headers = production
    owner = await make_client(db)
    for url, words in (
        (fake_n8n.url, "https://"),  # plain http://
        ("https://localhost:9/webhook", "loopback"),  # a name that resolves to 127.0.0.1
        ("https://127.0.0.1:9/webhook", "loopback"),
    ):
        response = await client.post(
            "/v1/admin/widgets",
            json={"client_id": str(owner.id), "name": "W", "webhook_url": url},
            headers=headers,
        )
        assert response.status_code == 422, (url, response.text)
        [detail] = response.json()["error"]["details"]
        assert detail["loc"] == ["body", "webhook_url"] and words in detail["msg"], (url, detail)
    assert operator.count("widgets") == 0
    assert fake_n8n.received == []


async def test_a_name_that_does_not_resolve_is_saved_and_flagged_unreachable(
    operator: OperatorApi, db: Database
) -> None:
    # .invalid never resolves (RFC 6761): not a refusal at save time; the probe reports it
    client = await make_client(db)
    response = await post_widget(operator, client, "https://n8n.example.invalid/webhook/x")
    assert response.status_code == 201, response.text
    assert response.json()["webhook_test"]["error_type"] == "unreachable"
    assert response.json()["health_status"] == "failing"
