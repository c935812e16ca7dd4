"""The hourly webhook check against real local servers (healthy, not registered, workflow error,
wrong secret, slow, refused, bad TLS): health columns, webhook_errors rows, the summary, exactly one
alert per transition across repeated and concurrent runs, and the relay's own failures marking a
widget failing between checks."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import trustme

from shared.db import Database
from shared.jobs import run_job
from shared.models import Widget
from shared.services.health_check import run_webhook_check
from shared.settings import Settings
from tests.conftest import make_settings
from tests.factories import make_client, make_widget
from tests.integration.conftest import open_public_api
from tests.n8n import NOT_REGISTERED, WORKFLOW_ERROR, FakeN8n, refused_url

pytestmark = pytest.mark.anyio
PROBE_TIMEOUT = 1.0


@pytest.fixture
def slack() -> Iterator[FakeN8n]:
    """A local server standing in for a Slack incoming webhook (answers 200 "ok")."""
    server = FakeN8n()
    server.reply(raw=b"ok")
    server.start()
    yield server
    server.stop()


def settings_for(db_url: str, slack: FakeN8n | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"webhook_probe_timeout_seconds": PROBE_TIMEOUT, **overrides}
    if slack is not None:
        values["alert_slack_webhook_url"] = slack.url
    return make_settings(db_url, **values)


async def check(db: Database, settings: Settings) -> dict[str, Any]:
    """One run of the job, as its Lambda handler runs it."""
    return await run_job(
        run_webhook_check, name="webhook_check", event={}, context=None, settings=settings, db=db
    )


def health(db_url: str, widget: Widget) -> dict[str, Any]:
    with psycopg.connect(db_url, row_factory=psycopg.rows.dict_row) as conn:
        row = conn.execute(
            "SELECT health_status, consecutive_failures, last_error_type, last_latency_ms, "
            "health_checked_at, failing_since, alerted_state, relay_failures, health_claimed_until "
            "FROM widgets WHERE id = %s",
            (widget.id,),
        ).fetchone()
    assert row is not None
    return row


def errors(db_url: str, widget: Widget) -> list[tuple[str, str]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT error_type, error_message FROM webhook_errors WHERE widget_id = %s ORDER BY occurred_at",
            (widget.id,),
        ).fetchall()


def alerts_posted(slack: FakeN8n) -> list[str]:
    return [json.loads(r.body)["text"] for r in slack.received]


@pytest.fixture
def started_servers() -> Iterator[list[FakeN8n]]:
    servers: list[FakeN8n] = []
    yield servers
    for server in servers:
        server.stop()


def n8n(servers: list[FakeN8n], body: Any, *, status: int = 200, delay: float = 0.0) -> FakeN8n:
    server = FakeN8n()
    server.reply(body, status=status, delay=delay)
    server.start()
    servers.append(server)
    return server


@pytest.fixture
async def tls_url() -> AsyncIterator[str]:
    """An https server whose certificate no public authority signed: the handshake fails."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("localhost").configure_cert(context)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    yield f"https://localhost:{server.sockets[0].getsockname()[1]}/webhook/tls"
    server.close()


async def test_every_kind_of_webhook_is_probed_classified_and_recorded(
    db: Database, db_url: str, started_servers: list[FakeN8n], tls_url: str
) -> None:
    # Given widgets on webhooks that answer in every way n8n (or its network) can
    healthy = n8n(started_servers, {"data": []})
    cases: dict[str, tuple[str, str | None]] = {
        "healthy": (healthy.url, None),
        "not_registered": (n8n(started_servers, NOT_REGISTERED, status=404).url, "not_registered"),
        "workflow_error": (n8n(started_servers, WORKFLOW_ERROR, status=500).url, "workflow_error"),
        "no_token": (n8n(started_servers, {"message": "No token provided"}, status=401).url, "http_4xx"),
        "wrong_secret": (n8n(started_servers, {"message": "invalid signature"}, status=403).url, "http_4xx"),
        "slow": (n8n(started_servers, {"data": []}, delay=PROBE_TIMEOUT + 2).url, "timeout"),
        "refused": (refused_url(), "unreachable"),
        "tls": (tls_url, "tls"),
    }
    widgets = {name: (await make_widget(db, webhook_url=url))[0] for name, (url, _) in cases.items()}
    # and an inactive and an expired widget, which are not probed
    idle = n8n(started_servers, {"data": []})
    await make_widget(db, webhook_url=idle.url, is_active=False)
    await make_widget(
        db, webhook_url=idle.url, is_demo=True, expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )

    # When the check runs
    started = time.monotonic()
    summary = await check(db, settings_for(db_url))
    elapsed = time.monotonic() - started

    # Then every active widget was probed once, concurrently: the slow one cost only its own timeout
    assert elapsed < PROBE_TIMEOUT + 1.5, elapsed
    assert idle.received == []
    assert summary["probed"] == 8 and summary["healthy"] == 1 and summary["failing"] == 7
    assert summary["by_kind"] == {
        "http_4xx": 2,
        "not_registered": 1,
        "timeout": 1,
        "tls": 1,
        "unreachable": 1,
        "workflow_error": 1,
    }
    assert summary["errors"] == 0 and summary["skipped"] == 0
    # and each widget's health columns and errors say what happened
    for name, (_, kind) in cases.items():
        row = health(db_url, widgets[name])
        assert row["health_checked_at"] is not None and row["last_latency_ms"] is not None, name
        assert row["health_claimed_until"] is None, name  # released
        if kind is None:
            assert row["health_status"] == "healthy" and row["consecutive_failures"] == 0
            assert row["last_error_type"] is None and row["failing_since"] is None
            assert errors(db_url, widgets[name]) == []
        else:
            assert row["health_status"] == "failing", name
            assert row["consecutive_failures"] == 1 and row["last_error_type"] == kind, name
            assert row["failing_since"] is not None, name
            [(error_type, message)] = errors(db_url, widgets[name])
            assert error_type == kind and message.startswith("health check: "), (name, message)
    assert "secret" in errors(db_url, widgets["wrong_secret"])[0][1]
    assert health(db_url, widgets["slow"])["last_latency_ms"] < (PROBE_TIMEOUT + 1) * 1000
    # and the healthy webhook got a signed loadPreviousSession, answered without running a workflow
    [probe] = healthy.received
    assert json.loads(probe.body)["action"] == "loadPreviousSession"
    assert probe.headers["Authorization"].startswith("Bearer ") and "X-Widget-Signature" in probe.headers


async def test_a_widget_alerts_once_when_it_fails_and_once_when_it_recovers(
    db: Database, db_url: str, fake_n8n: FakeN8n, slack: FakeN8n
) -> None:
    # Given a widget whose workflow was deactivated, and alerts after 2 failed checks
    client = await make_client(db, name="Acme Bakery")
    widget, _ = await make_widget(db, client=client, webhook_url=fake_n8n.url)
    fake_n8n.reply(NOT_REGISTERED, status=404)
    settings = settings_for(db_url, slack, alert_after_failures=2)

    # When the check runs once: one failure is not an alert yet
    first = await check(db, settings)
    assert first["alerts"] == {"failing": 0, "recovered": 0} and slack.received == []
    # When it runs again: the second failure in a row alerts
    second = await check(db, settings)
    assert second["alerts"] == {"failing": 1, "recovered": 0}
    [alert] = alerts_posted(slack)
    # naming the client, the widget, the error kind, the last error, since when, and the admin page
    assert "Acme Bakery" in alert and widget.name in alert and "not_registered" in alert
    assert "is the workflow active" in alert
    since = health(db_url, widget)["failing_since"]
    assert since.strftime("%Y-%m-%d %H:%M UTC") in alert
    assert f"http://platform.test/admin/widgets/{widget.id}" in alert
    # When it keeps failing: no more alerts
    await check(db, settings)
    await check(db, settings)
    assert len(slack.received) == 1
    assert health(db_url, widget)["consecutive_failures"] == 4

    # When the workflow is active again: one recovery alert
    fake_n8n.reply({"data": []})
    recovered = await check(db, settings)
    assert recovered["alerts"] == {"failing": 0, "recovered": 1}
    assert len(slack.received) == 2 and "answers again" in alerts_posted(slack)[1]
    row = health(db_url, widget)
    assert row["health_status"] == "healthy" and row["failing_since"] is None
    assert row["alerted_state"] == "healthy"
    # and staying healthy alerts no more
    await check(db, settings)
    assert len(slack.received) == 2


async def test_concurrent_runs_alert_once_per_transition(
    db_url: str, fake_n8n: FakeN8n, slack: FakeN8n
) -> None:
    # Given 20 widgets on a failing webhook, each failed once already
    fake_n8n.reply(WORKFLOW_ERROR, status=500)
    databases = [Database(db_url, pool_size=4) for _ in range(3)]
    settings = settings_for(db_url, slack, alert_after_failures=2)
    widgets = [(await make_widget(databases[0], webhook_url=fake_n8n.url))[0] for _ in range(20)]
    await check(databases[0], settings)
    assert slack.received == []

    # When three runs start at once, then two more at once
    runs = await asyncio.gather(*(check(database, settings) for database in databases))
    runs += await asyncio.gather(*(check(database, settings) for database in databases[:2]))

    # Then every widget was probed, and each alerted exactly once
    assert sum(run["probed"] for run in runs[:3]) >= 20
    assert sum(run["alerts"]["failing"] for run in runs) == 20
    texts = alerts_posted(slack)
    assert len(texts) == 20
    assert sorted(w.name for w in widgets) == sorted(
        next(w.name for w in widgets if f"/admin/widgets/{w.id}" in text) for text in texts
    )
    for database in databases:
        await database.close()


async def test_relay_failures_mark_a_widget_failing_between_checks(
    db: Database, db_url: str, fake_n8n: FakeN8n, slack: FakeN8n
) -> None:
    # Given a healthy widget (checked at the last hourly run) whose workflow now fails every message
    widget, _ = await make_widget(db, webhook_url=fake_n8n.url)
    settings = settings_for(db_url, slack, alert_relay_failures=3)
    fake_n8n.reply({"data": []})
    await check(db, settings)
    fake_n8n.reply(WORKFLOW_ERROR, status=500)
    app, client = await open_public_api(
        db_url, webhook_timeout_seconds=1.0, alert_relay_failures=3, alert_slack_webhook_url=slack.url
    )
    async with client:
        session = await client.post(f"/v1/widgets/{widget.id}/sessions")
        token = session.json()["token"]

        async def send() -> httpx.Response:
            return await client.post(
                f"/v1/widgets/{widget.id}/messages",
                json={"message": "Are you open?"},
                headers={"Authorization": f"Bearer {token}"},
            )

        # When two visitor messages fail: still healthy (not yet 3 in a row)
        assert [(await send()).status_code for _ in range(2)] == [502, 502]
        assert health(db_url, widget)["health_status"] == "healthy"
        assert health(db_url, widget)["relay_failures"] == 2
        # When the third fails: failing at once, and one alert, long before the next hourly check
        assert (await send()).status_code == 502
        row = health(db_url, widget)
        assert row["health_status"] == "failing" and row["last_error_type"] == "workflow_error"
        assert row["alerted_state"] == "failing" and row["failing_since"] is not None
        [alert] = alerts_posted(slack)
        assert "workflow_error" in alert and "Error in workflow" in alert
        # When more messages fail: no more alerts
        await send()
        assert len(slack.received) == 1
        # When a message is answered again: the streak of failures ends
        fake_n8n.reply({"output": "Yes, until 6."})
        assert (await send()).status_code == 200
        assert health(db_url, widget)["relay_failures"] == 0
    await app.state.resources.aclose()

    # and the next hourly check finds it healthy and announces the recovery once
    fake_n8n.reply({"data": []})
    summary = await check(db, settings)
    assert summary["alerts"] == {"failing": 0, "recovered": 1}
    assert len(slack.received) == 2
