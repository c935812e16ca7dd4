"""Alert channels: SES email and SNS (moto) and a Slack-compatible webhook (a local server), each used
when configured; a broken channel is logged and stops neither the others nor the job."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from shared.alerts import AlertSender, WidgetAlert
from shared.db import Database
from shared.jobs import run_job
from shared.services.health_check import run_webhook_check
from tests.conftest import LogCapture, make_settings
from tests.factories import make_client, make_widget
from tests.n8n import NOT_REGISTERED, FakeN8n, refused_url

pytestmark = pytest.mark.anyio
REGION = "us-east-1"
SENDER = "alerts@agency.test"


@dataclass
class Aws:
    topic_arn: str

    @property
    def emails(self) -> list[Any]:
        return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)

    @property
    def notifications(self) -> list[tuple[Any, ...]]:
        return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].topics[self.topic_arn].sent_notifications)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """SES (with a verified sender) and an SNS topic, served by moto."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        boto3.setup_default_session()
        boto3.client("ses").verify_email_identity(EmailAddress=SENDER)
        topic_arn = boto3.client("sns").create_topic(Name="webhook-alerts")["TopicArn"]
        yield Aws(topic_arn)
    boto3.DEFAULT_SESSION = None


@pytest.fixture
def slack() -> Iterator[FakeN8n]:
    server = FakeN8n()
    server.reply(raw=b"ok")
    server.start()
    yield server
    server.stop()


def an_alert() -> WidgetAlert:
    return WidgetAlert(
        kind="failing",
        widget_id=uuid.uuid4(),
        widget_name="Support bot",
        client_name="Zoë's Café",
        error_type="workflow_error",
        error_detail="HTTP 500: Error in workflow",
        since=datetime(2026, 3, 1, 10, 5, tzinfo=UTC),
        at=datetime(2026, 3, 1, 11, 0, tzinfo=UTC),
        admin_url="https://platform.test/admin/widgets/x",
    )


def alert_settings(db_url: str, aws: Aws, slack_url: str | None, **overrides: Any) -> Any:
    return make_settings(
        db_url,
        alert_email_from=SENDER,
        alert_email_to="ops@agency.test, owner@agency.test",
        alert_sns_topic_arn=aws.topic_arn,
        alert_slack_webhook_url=slack_url,
        alert_timeout_seconds=2.0,
        **overrides,
    )


async def test_every_configured_channel_gets_the_alert(db_url: str, aws: Aws, slack: FakeN8n) -> None:
    # Given email, SNS and Slack configured
    sender = AlertSender(alert_settings(db_url, aws, slack.url))
    alert = an_alert()
    # When an alert is sent
    sent = await sender.send(alert)
    await sender.aclose()
    # Then each channel got it, saying who, what, since when and where to look
    assert sent == {"email": True, "sns": True, "slack": True}
    [email] = aws.emails
    assert email.source == SENDER
    assert email.destinations["ToAddresses"] == ["ops@agency.test", "owner@agency.test"]
    assert email.subject == "[Chat widget] Zoë's Café / Support bot: webhook failing (workflow_error)"
    for text in (email.body, aws.notifications[0][1], json.loads(slack.received[0].body)["text"]):
        assert "Zoë's Café" in text and "Support bot" in text and "workflow_error" in text
        assert "Error in workflow" in text and "2026-03-01 10:05 UTC" in text
        assert "https://platform.test/admin/widgets/x" in text
    # and the SNS subject is plain ASCII under 100 characters, as SNS requires
    subject = aws.notifications[0][2]
    assert subject.isascii() and len(subject) < 100


async def test_only_configured_channels_are_used(db_url: str, aws: Aws) -> None:
    # Given only the SNS topic configured
    sender = AlertSender(make_settings(db_url, alert_sns_topic_arn=aws.topic_arn))
    # When an alert is sent
    assert await sender.send(an_alert()) == {"sns": True}
    # Then no email went out
    assert aws.emails == [] and len(aws.notifications) == 1
    # and with nothing configured, nothing is sent and nothing fails
    assert await AlertSender(make_settings(db_url)).send(an_alert()) == {}


async def test_a_broken_channel_stops_neither_the_others_nor_the_job(
    db: Database, db_url: str, aws: Aws, fake_n8n: FakeN8n, platform_logs: LogCapture
) -> None:
    # Given a Slack webhook that refuses connections, an unverified email sender, and a working topic
    settings = alert_settings(
        db_url, aws, refused_url(), alert_after_failures=1, webhook_probe_timeout_seconds=1.0
    ).model_copy(update={"alert_email_from": "nobody@unverified.test"})
    # and two widgets whose webhook stopped answering
    fake_n8n.reply(NOT_REGISTERED, status=404)
    client = await make_client(db, name="Acme")
    for _ in range(2):
        await make_widget(db, client=client, webhook_url=fake_n8n.url)

    # When the check runs
    summary = await run_job(
        run_webhook_check, name="webhook_check", event={}, context=None, settings=settings, db=db
    )

    # Then the run finished, both widgets alerted through SNS, and the broken channels were logged
    assert summary["alerts"] == {"failing": 2, "recovered": 0}
    assert summary["alert_channel_failures"] == 4
    assert len(aws.notifications) == 2 and aws.emails == []
    failures = platform_logs.named("alert channel failed")
    assert sorted(line["channel"] for line in failures) == ["email", "email", "slack", "slack"]
    assert all(
        "Email address not verified" in line["error"] for line in failures if line["channel"] == "email"
    )
