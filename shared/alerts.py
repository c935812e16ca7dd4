"""Alert channels (DESIGN.md "Alerts"): SES email, an SNS topic and a Slack-compatible incoming
webhook, each used when configured (ALERT_EMAIL_FROM + ALERT_EMAIL_TO, ALERT_SNS_TOPIC_ARN,
ALERT_SLACK_WEBHOOK_URL).

A channel that fails is logged and never stops the others or the caller: `AlertSender.send` never
raises. boto3 is imported only when an alert goes out through SES or SNS, so a process that sends
none (the chat function, nearly always) never pays for importing it. The Slack webhook is called
with the platform's own webhook client, under the webhook URL policy (https, public addresses).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from shared.observability import logger
from shared.settings import Settings
from shared.webhook_client import WebhookClient

AlertKind = Literal["failing", "recovered"]
USER_AGENT = "chat-widget-platform-alerts/1"
_MAX_SNS_SUBJECT = 99
_MAX_DETAIL = 1000


@dataclass(frozen=True)
class WidgetAlert:
    """One health transition of one widget, as the operator reads it."""

    kind: AlertKind
    widget_id: UUID
    widget_name: str
    client_name: str
    error_type: str | None
    error_detail: str | None
    since: datetime  # failing since (for a recovery: was failing since)
    at: datetime  # when the transition was seen
    admin_url: str  # the widget's admin page

    @property
    def subject(self) -> str:
        what = (
            f"webhook failing ({self.error_type or 'unknown error'})"
            if self.kind == "failing"
            else "webhook recovered"
        )
        return f"[Chat widget] {self.client_name} / {self.widget_name}: {what}"

    @property
    def text(self) -> str:
        since = self.since.strftime("%Y-%m-%d %H:%M UTC")
        detail = (self.error_detail or "no detail recorded")[:_MAX_DETAIL]
        if self.kind == "failing":
            lines = [
                f"The webhook of widget “{self.widget_name}” (client “{self.client_name}”) is failing.",
                f"Error kind: {self.error_type or 'unknown'}",
                f"Last error: {detail}",
                f"Failing since: {since}",
                "Visitors get the widget's fallback message until it answers again.",
            ]
        else:
            lines = [
                f"The webhook of widget “{self.widget_name}” (client “{self.client_name}”) answers again.",
                f"It was failing since {since} (last error kind: {self.error_type or 'unknown'}).",
                f"Recovered at: {self.at.strftime('%Y-%m-%d %H:%M UTC')}",
            ]
        return "\n".join([*lines, f"Widget: {self.admin_url}"])


class AlertSender:
    """Sends alerts through every configured channel; made once per job run (or per transition)."""

    def __init__(self, settings: Settings, *, ses: Any = None, sns: Any = None) -> None:
        self._settings = settings
        self._ses, self._sns = ses, sns
        self._slack: WebhookClient | None = None

    @property
    def channels(self) -> list[str]:
        """The configured channels' names."""
        s = self._settings
        configured = []
        if s.alert_email_from and self._recipients:
            configured.append("email")
        if s.alert_sns_topic_arn:
            configured.append("sns")
        if s.alert_slack_webhook_url and s.alert_slack_webhook_url.get_secret_value():
            configured.append("slack")
        return configured

    async def send(self, alert: WidgetAlert) -> dict[str, bool]:
        """Send `alert` through every configured channel at once; returns which succeeded. A failing
        or hanging channel is logged (bounded by ALERT_TIMEOUT_SECONDS) and never raises."""
        channels = self.channels
        if not channels:
            logger.warning("alert not sent: no alert channel configured", extra=_keys(alert))
            return {}
        results = await asyncio.gather(*(self._send_one(name, alert) for name in channels))
        return dict(zip(channels, results, strict=True))

    async def aclose(self) -> None:
        if self._slack is not None:
            await self._slack.aclose()

    async def _send_one(self, channel: str, alert: WidgetAlert) -> bool:
        send = {"email": self._email, "sns": self._publish, "slack": self._post_to_slack}[channel]
        try:
            async with asyncio.timeout(self._settings.alert_timeout_seconds + 1):
                await send(alert)
        except Exception as exc:
            logger.error(
                "alert channel failed",
                extra={**_keys(alert), "channel": channel, "error": f"{type(exc).__name__}: {exc}"[:500]},
            )
            return False
        logger.info("alert sent", extra={**_keys(alert), "channel": channel})
        return True

    @property
    def _recipients(self) -> list[str]:
        return [a.strip() for a in (self._settings.alert_email_to or "").split(",") if a.strip()]

    async def _email(self, alert: WidgetAlert) -> None:
        if self._ses is None:
            self._ses = self._aws_client("ses")
        await asyncio.to_thread(
            self._ses.send_email,
            Source=self._settings.alert_email_from,
            Destination={"ToAddresses": self._recipients},
            Message={
                "Subject": {"Data": alert.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": alert.text, "Charset": "UTF-8"}},
            },
        )

    async def _publish(self, alert: WidgetAlert) -> None:
        if self._sns is None:
            self._sns = self._aws_client("sns")
        # SNS subjects: ASCII, no line breaks, under 100 characters.
        subject = alert.subject.encode("ascii", "replace").decode()[:_MAX_SNS_SUBJECT]
        await asyncio.to_thread(
            self._sns.publish,
            TopicArn=self._settings.alert_sns_topic_arn,
            Subject=subject,
            Message=alert.text,
        )

    async def _post_to_slack(self, alert: WidgetAlert) -> None:
        url = self._settings.alert_slack_webhook_url
        assert url is not None
        if self._slack is None:
            self._slack = WebhookClient(
                max_connections=2,
                max_response_bytes=64 * 1024,
                user_agent=USER_AGENT,
                policy=self._settings.webhook_policy,
            )
        response = await self._slack.post(
            url.get_secret_value(),
            body=json.dumps({"text": f"*{alert.subject}*\n{alert.text}"}).encode(),
            headers={"Content-Type": "application/json"},
            timeout_seconds=self._settings.alert_timeout_seconds,
            pool_key="alerts",
        )
        if not 200 <= response.status < 300:
            raise RuntimeError(f"the Slack webhook answered HTTP {response.status}")

    def _aws_client(self, service: Literal["ses", "sns"]) -> Any:
        import boto3
        from botocore.config import Config

        timeout = self._settings.alert_timeout_seconds
        config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2})
        if service == "ses":
            return boto3.client("ses", config=config)
        return boto3.client("sns", config=config)


def _keys(alert: WidgetAlert) -> dict[str, str]:
    return {"widget_id": str(alert.widget_id), "alert": alert.kind, "error_type": alert.error_type or ""}
