"""One visitor message: rate limits, the relay to n8n, and the log of the exchange.

Whatever the webhook does, the exchange is logged: answered, or failed together with its webhook
error, so the visitor's message is never lost.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

import psycopg
from aws_lambda_powertools.metrics import MetricUnit

from shared.db import Database
from shared.errors import (
    BotBusyError,
    BotTimeoutError,
    BotUnavailableError,
    DatabaseUnavailableError,
    WidgetGoneError,
)
from shared.models import ChatLog, ChatLogCreate, Widget
from shared.observability import add_error_count, add_metric, logger
from shared.repositories import chat_logs
from shared.services import health_check, rate_limits, relay
from shared.settings import Settings

# How long the log of an exchange keeps trying while the database is unreachable (a restart, a
# failover). With the earlier reads' own bound (`Database` operation timeout) a request waits on a
# stalled database for under 10 s in all.
LOG_WRITE_BUDGET_SECONDS = 6.0


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
    settings: Settings | None = None,
) -> ChatLog:
    """Relay one message and log the exchange.

    Raises `BotUnavailableError` (or its kinds) when the webhook fails, `WidgetGoneError` when the
    widget was deleted meanwhile, and `DatabaseUnavailableError` when the exchange cannot be
    stored (then it is written to the function's log instead, so it can be recovered).
    With `settings`, the outcome counts toward the widget's health (ALERT_RELAY_FAILURES).
    """
    await rate_limits.enforce(db, widget=widget, kind="message", session_id=session_id, ip=ip)
    message_id = uuid.uuid4()
    record = ChatLogCreate(
        id=message_id, widget_id=widget.id, session_id=session_id, message=text, response="", status="failed"
    )
    started = time.perf_counter()
    failure: relay.RelayError | None = None
    try:
        body, headers = relay.build_request(
            widget, session_id=session_id, message_id=message_id, text=text, page=page, now=datetime.now(UTC)
        )
        reply = await webhooks.post(
            widget.webhook_url,
            body=body,
            headers=headers,
            timeout_seconds=timeout_seconds,
            pool_key=str(widget.id),
        )
    except relay.RelayError as exc:
        failure = exc
    except Exception as exc:  # the second line of defence: the message was accepted, so it is logged
        logger.exception("relay failed unexpectedly", extra={"widget_id": str(widget.id)})
        failure = relay.RelayError("invalid_response", f"unexpected error in the relay: {type(exc).__name__}")
    record.response_time_ms = _elapsed_ms(started)
    if failure is None:
        record.status = "answered"
        record.response, record.confidence, record.topic = reply.text, reply.confidence, reply.topic
    log = await _store(db, widget, record, failure)
    if settings is not None:
        await health_check.record_relay_outcome(db, settings, widget=widget, failure=failure)
    if failure is not None:
        _report_failure(widget, message_id, failure)
        raise _visitor_error(widget, log, failure)
    add_metric("RelayedMessages", MetricUnit.Count, 1)
    add_metric("RelayLatency", MetricUnit.Milliseconds, record.response_time_ms)
    return log


async def _store(
    db: Database, widget: Widget, record: ChatLogCreate, failure: relay.RelayError | None
) -> ChatLog:
    """Write the exchange (with its webhook error when it failed), trying through a database restart."""
    try:
        if failure is None:
            return await db.run_durable(LOG_WRITE_BUDGET_SECONDS, chat_logs.insert_chat_log, data=record)
        return await db.run_durable(
            LOG_WRITE_BUDGET_SECONDS,
            chat_logs.insert_failed_exchange,
            data=record,
            error_type=failure.error_type,
            error_message=failure.detail,
        )
    except psycopg.errors.ForeignKeyViolation:
        raise WidgetGoneError(
            "This chat widget does not exist or is no longer available.", code="widget_not_found"
        ) from None
    except DatabaseUnavailableError as exc:
        # Nothing may be unrecoverable: the exchange goes to the log as one structured record.
        logger.error(
            "exchange not stored",
            extra={
                "reason": exc.reason,
                "exchange": record.model_dump(mode="json"),
                "error_type": failure.error_type if failure else None,
                "error_detail": failure.detail if failure else None,
            },
        )
        raise
    except psycopg.Error as exc:
        if failure is not None:
            raise
        # The reply itself could not be stored (a value the column refuses): keep the message.
        logger.exception("reply not storable", extra={"widget_id": str(widget.id)})
        record.status, record.response, record.confidence, record.topic = "failed", "", None, None
        return await _store(
            db,
            widget,
            record,
            relay.RelayError("invalid_response", f"reply not storable: {type(exc).__name__}"),
        )


def _visitor_error(widget: Widget, log: ChatLog, failure: relay.RelayError) -> BotUnavailableError:
    fallback = widget.config.fallback_message
    details = {"message_id": str(log.id), "created_at": log.created_at.isoformat()}
    if failure.error_type == "timeout":
        return BotTimeoutError(fallback, details=details)
    if failure.error_type == "overloaded":
        return BotBusyError(fallback, details=details)
    return BotUnavailableError(fallback, details=details)


def _report_failure(widget: Widget, message_id: uuid.UUID, failure: relay.RelayError) -> None:
    logger.warning(
        "webhook failed",
        extra={
            "widget_id": str(widget.id),
            "error_type": failure.error_type,
            "detail": failure.detail,
            "message_id": str(message_id),
        },
    )
    add_error_count("RelayFailures", 1, error_type=failure.error_type)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
