"""Webhook health (DESIGN.md "Health checks"): the probe, used when an admin saves a webhook and by
the hourly check, and the one way its result is recorded on the widget.

The probe POSTs n8n's Chat Trigger action `loadPreviousSession`, signed exactly like a visitor's
message (the relay's `signed_headers`), so it proves that the URL answers *and* that n8n accepts our
JWT. The Chat Trigger answers it with `{"data": []}` without running the workflow; any 2xx is
healthy. Every failure is one of the relay's kinds (`webhook_errors.error_type`).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from shared.db import Database
from shared.models import WebhookErrorType, Widget
from shared.observability import logger
from shared.repositories import widgets

if TYPE_CHECKING:
    from shared.services import relay

# The relay (and its HTTP client) is imported by the functions that probe, not with this module: the
# admin function imports it for its routes but probes only when a webhook is saved or tested, and
# its cold start should not pay for the client (docs/benchmarks.md "Cold start").

# The probe's own bound: the hourly check's default, and at most the relay's timeout (settings).
PROBE_TIMEOUT_SECONDS = 10.0
PROBE_ACTION = "loadPreviousSession"


@dataclass(frozen=True)
class ProbeResult:
    """What one probe saw: `ok` for any 2xx; otherwise the failure kind, the HTTP status when the
    webhook answered with one, and a detail for the operator."""

    ok: bool
    error_type: WebhookErrorType | None
    status: int | None
    detail: str | None
    latency_ms: int
    checked_at: datetime


def probe_session_id(widget: Widget) -> str:
    """The session id a probe uses, so a workflow can tell probes from visitors."""
    return f"healthcheck-{widget.id}"


def probe_request(widget: Widget, *, now: datetime) -> tuple[bytes, dict[str, str]]:
    """The probe's raw body and headers, signed as a real message is."""
    from shared.services import relay

    session_id = probe_session_id(widget)
    body = {
        "action": PROBE_ACTION,
        "sessionId": session_id,
        "metadata": {"healthCheck": True, "widgetId": str(widget.id), "clientId": str(widget.client_id)},
    }
    raw = json.dumps(body, separators=(",", ":")).encode()
    return raw, relay.signed_headers(widget, raw, session_id=session_id, request_id=uuid.uuid4(), now=now)


async def probe(webhooks: relay.WebhookCaller, widget: Widget, timeout_seconds: float) -> ProbeResult:
    """Probe the widget's webhook once; never raises for anything the webhook does."""
    from shared.services import relay

    started = time.perf_counter()
    status: int | None = None
    try:
        body, headers = probe_request(widget, now=datetime.now(UTC))
        response = await webhooks.send(
            widget.webhook_url,
            body=body,
            headers=headers,
            timeout_seconds=timeout_seconds,
            pool_key=str(widget.id),
        )
        status = response.status
        if 200 <= status < 300:
            return ProbeResult(True, None, status, None, _elapsed_ms(started), datetime.now(UTC))
        relay.parse_response(status, response.headers.get("content-type", ""), response.body)
        raise relay.RelayError("invalid_response", f"HTTP {status}", status=status)  # not reached
    except relay.RelayError as exc:
        failure = exc
    except Exception as exc:  # the second line of defence: a probe reports, it never fails the save
        logger.exception("webhook probe failed unexpectedly", extra={"widget_id": str(widget.id)})
        failure = relay.RelayError("invalid_response", f"unexpected error in the probe: {type(exc).__name__}")
    return ProbeResult(
        ok=False,
        error_type=failure.error_type,
        status=failure.status if failure.status is not None else status,
        detail=_explain(failure),
        latency_ms=_elapsed_ms(started),
        checked_at=datetime.now(UTC),
    )


async def record_probe(db: Database, *, widget: Widget, result: ProbeResult) -> Widget | None:
    """Store a probe's result on the widget (health status, when, failures in a row, last error kind,
    latency) and, when it failed, one `webhook_errors` row. Returns the updated widget; None, with
    nothing stored, if the widget is gone or its webhook changed since the probe."""
    if not result.ok:
        logger.warning(
            "webhook probe failed",
            extra={"widget_id": str(widget.id), "error_type": result.error_type, "status": result.status},
        )
    return await db.run(
        widgets.record_probe,
        widget_id=widget.id,
        webhook_url=widget.webhook_url,
        checked_at=result.checked_at,
        latency_ms=result.latency_ms,
        error_type=result.error_type,
        error_message=None if result.ok else f"health check: {result.detail}",
    )


def _explain(failure: relay.RelayError) -> str:
    if failure.status in (401, 403):
        return (
            f"n8n refused the probe's JWT (HTTP {failure.status}): the secret in the workflow's JWT Auth "
            "credential is not this widget's secret (after a rotation, update it in n8n). "
            f"{failure.detail}"
        )
    return failure.detail


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
