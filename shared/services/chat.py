"""One visitor message: rate limits, the relay to n8n, and the log of the exchange.

Whatever the webhook does, the exchange is logged: answered, or failed together with its webhook
error, so the visitor's message is never lost.
"""

from __future__ import annotations

import math
import time
import uuid
from datetime import UTC, datetime

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from shared.db import Database
from shared.errors import AppError, RateLimitedError
from shared.models import ChatLog, ChatLogCreate, Widget
from shared.observability import SERVICE, logger, metrics
from shared.repositories import chat_logs, rate_limits
from shared.services import relay

RATE_WINDOW_SECONDS = 60


class BotUnavailableError(AppError):
    """The webhook failed: the visitor gets the widget's fallback message (502, or 504 on timeout)."""

    status_code = 502
    code = "bot_unavailable"

    def __init__(
        self, fallback: str, *, message_id: uuid.UUID, created_at: datetime, timed_out: bool
    ) -> None:
        super().__init__(
            fallback,
            code="bot_timeout" if timed_out else None,
            details={"message_id": str(message_id), "created_at": created_at.isoformat()},
        )
        if timed_out:
            self.status_code = 504


async def enforce_rate_limits(db: Database, *, widget: Widget, session_id: str, ip: str) -> None:
    """Count this message against the session's and the address's per-minute limits; 429 if over."""
    limits = widget.config.rate_limit
    allowed = {
        f"session:{widget.id}:{session_id}": limits.per_session_per_minute,
        f"ip:{widget.id}:{ip}": limits.per_ip_per_minute,
    }
    counts = await db.run(rate_limits.hit, keys=list(allowed), window_seconds=RATE_WINDOW_SECONDS)
    over = [remaining for key, (count, remaining) in counts.items() if count > allowed[key]]
    if over:
        raise RateLimitedError(
            "Too many messages. Please wait a moment before sending another.",
            retry_after=max(1, math.ceil(max(over))),
        )


async def send_message(
    db: Database,
    webhooks: relay.WebhookCaller,
    *,
    widget: Widget,
    session_id: str,
    text: str,
    page: relay.PageContext,
    ip: str,
    timeout_seconds: float,
) -> ChatLog:
    """Relay one message and log the exchange; raises `BotUnavailableError` when the webhook fails."""
    await enforce_rate_limits(db, widget=widget, session_id=session_id, ip=ip)
    message_id = uuid.uuid4()
    body, headers = relay.build_request(
        widget, session_id=session_id, message_id=message_id, text=text, page=page, now=datetime.now(UTC)
    )
    started = time.perf_counter()
    record = ChatLogCreate(
        id=message_id, widget_id=widget.id, session_id=session_id, message=text, response="", status="failed"
    )
    try:
        reply = await webhooks.post(
            widget.webhook_url, body=body, headers=headers, timeout_seconds=timeout_seconds
        )
    except relay.RelayError as exc:
        record.response_time_ms = _elapsed_ms(started)
        log = await db.run(
            chat_logs.insert_failed_exchange, data=record, error_type=exc.error_type, error_message=exc.detail
        )
        logger.warning(
            "webhook failed",
            extra={
                "widget_id": str(widget.id),
                "error_type": exc.error_type,
                "detail": exc.detail,
                "message_id": str(message_id),
            },
        )
        _record_failure(exc.error_type)
        raise BotUnavailableError(
            widget.config.fallback_message,
            message_id=message_id,
            created_at=log.created_at,
            timed_out=exc.error_type == "timeout",
        ) from None
    record.response_time_ms = _elapsed_ms(started)
    record.status = "answered"
    record.response, record.confidence, record.topic = reply.text, reply.confidence, reply.topic
    log = await db.run(chat_logs.insert_chat_log, data=record)
    metrics.add_metric(name="RelayedMessages", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="RelayLatency", unit=MetricUnit.Milliseconds, value=record.response_time_ms)
    return log


def _record_failure(error_type: str) -> None:
    with single_metric(
        name="RelayFailures",
        unit=MetricUnit.Count,
        value=1,
        namespace=metrics.namespace,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name="ErrorType", value=error_type)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
