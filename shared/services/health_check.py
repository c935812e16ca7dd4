"""Webhook health over time (DESIGN.md "Health checks", "Alerts"): the hourly `webhook_check` job
and the relay's own failures, and the alert sent once per transition.

The job claims every active, unexpired widget in the database (two runs at once split them),
probes them concurrently (at most WEBHOOK_CHECK_CONCURRENCY at a time, each bounded by
WEBHOOK_PROBE_TIMEOUT_SECONDS, so one slow webhook delays nobody else), records each result with
`webhook_health.record_probe` (health columns, a `webhook_errors` row per failure) and settles the
alert state: after ALERT_AFTER_FAILURES failed checks in a row a widget alerts as failing, and once
again when it recovers. The transition is claimed in the database, so it is announced once, however
many runs (or relayed messages) see it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from shared.alerts import AlertSender, WidgetAlert
from shared.db import Database
from shared.models import Widget
from shared.observability import add_error_count, add_metric, logger
from shared.repositories import widgets as widgets_repo
from shared.services import relay, webhook_health
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.jobs import JobContext

# A claim outlives any run (Lambda's limit is 15 minutes); a crashed run's widgets are free again then.
CLAIM_LEASE_SECONDS = 15 * 60
# Failures that say nothing about the webhook: our own connection slots were full.
_NOT_THE_WEBHOOKS_FAULT = frozenset({"overloaded"})


@dataclass
class CheckTally:
    """What one run did, for its summary and metrics."""

    probed: int = 0
    healthy: int = 0
    failing: int = 0
    skipped: int = 0  # deleted, or its webhook changed, while being probed
    errors: int = 0  # could not be recorded (database trouble)
    by_kind: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    alert_channel_failures: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "probed": self.probed,
            "healthy": self.healthy,
            "failing": self.failing,
            "by_kind": dict(sorted(self.by_kind.items())),
            "skipped": self.skipped,
            "errors": self.errors,
            "alerts": {"failing": self.alerts["failing"], "recovered": self.alerts["recovered"]},
            "alert_channel_failures": self.alert_channel_failures,
        }


async def run_webhook_check(job: JobContext) -> dict[str, Any]:
    """The `webhook_check` job: probe, record and alert for every active, unexpired widget."""
    settings = job.settings
    concurrency = settings.webhook_check_concurrency
    claimed = await job.db.run(
        widgets_repo.claim_for_health_check, now=job.now, lease_seconds=CLAIM_LEASE_SECONDS
    )
    # Enough connections for every probe in flight, on one origin too (many widgets share one n8n).
    webhooks = relay.WebhookCaller(
        max_connections=concurrency, max_connections_per_origin=concurrency, policy=settings.webhook_policy
    )
    alerts = AlertSender(settings)
    tally = CheckTally()
    slots = asyncio.Semaphore(concurrency)

    async def check(widget: Widget) -> None:
        async with slots:
            try:
                await check_widget(job.db, webhooks, alerts, settings, widget=widget, tally=tally)
            except Exception:
                tally.errors += 1
                logger.exception("webhook check not recorded", extra={"widget_id": str(widget.id)})

    try:
        await asyncio.gather(*(check(widget) for widget in claimed))
    finally:
        await webhooks.aclose()
        await alerts.aclose()
    _emit_metrics(tally)
    summary = tally.summary()
    if tally.errors:
        # Counted as a failed run (the error alarm); the other widgets were checked and recorded.
        raise RuntimeError(
            f"{tally.errors} of {len(claimed)} webhook checks could not be recorded: {summary}"
        )
    return summary


async def check_widget(
    db: Database,
    webhooks: relay.WebhookCaller,
    alerts: AlertSender,
    settings: Settings,
    *,
    widget: Widget,
    tally: CheckTally,
) -> None:
    """Probe one widget, record the result, and announce a health transition this call claimed."""
    timeout = settings.webhook_probe_timeout_seconds
    started = time.perf_counter()
    try:
        # The client bounds the call itself; this bounds everything around it (signing, a slot).
        async with asyncio.timeout(timeout + 2):
            result = await webhook_health.probe(webhooks, widget, timeout)
    except TimeoutError:
        result = webhook_health.ProbeResult(
            ok=False,
            error_type="timeout",
            status=None,
            detail=f"no reply within {timeout:g} s",
            latency_ms=round((time.perf_counter() - started) * 1000),
            checked_at=datetime.now(UTC),
        )
    tally.probed += 1
    if result.ok:
        tally.healthy += 1
    else:
        tally.failing += 1
        tally.by_kind[result.error_type or "unknown"] += 1
    if await webhook_health.record_probe(db, widget=widget, result=result) is None:
        tally.skipped += 1
    claim = await db.run(
        widgets_repo.settle_health,
        widget_id=widget.id,
        at=result.checked_at,
        after_failures=settings.alert_after_failures,
        after_relay_failures=settings.alert_relay_failures,
        release_claim=True,
    )
    if claim is not None:
        tally.alerts[claim.kind] += 1
        sent = await alerts.send(alert_of(claim, settings))
        tally.alert_channel_failures += sum(1 for ok in sent.values() if not ok)


async def record_relay_outcome(
    db: Database, settings: Settings, *, widget: Widget, failure: relay.RelayError | None
) -> None:
    """Count a relayed visitor message toward the widget's health: ALERT_RELAY_FAILURES failures
    in a row mark it failing between hourly checks (and alert once); an answer ends the streak.
    One cheap UPDATE per failed message; never raises (the visitor's exchange matters more)."""
    try:
        if failure is None:
            return  # the answered exchange's insert ended the streak (chat_logs.insert_chat_log)
        if failure.error_type in _NOT_THE_WEBHOOKS_FAULT:
            return
        now = datetime.now(UTC)
        unannounced = await db.run(
            widgets_repo.record_relay_failure,
            widget_id=widget.id,
            error_type=failure.error_type,
            threshold=settings.alert_relay_failures,
            at=now,
        )
        if not unannounced:
            return
        claim = await db.run(
            widgets_repo.settle_health,
            widget_id=widget.id,
            at=now,
            after_failures=settings.alert_after_failures,
            after_relay_failures=settings.alert_relay_failures,
            release_claim=False,
        )
        if claim is not None:
            logger.warning(
                "webhook marked failing by the relay",
                extra={"widget_id": str(widget.id), "error_type": failure.error_type},
            )
            alerts = AlertSender(settings)
            try:
                await alerts.send(alert_of(claim, settings))
            finally:
                await alerts.aclose()
    except Exception:
        logger.exception("relay outcome not recorded", extra={"widget_id": str(widget.id)})


def alert_of(claim: widgets_repo.AlertClaim, settings: Settings) -> WidgetAlert:
    """The alert announcing a claimed transition, linking to the widget's admin page."""
    return WidgetAlert(
        kind=claim.kind,
        widget_id=claim.widget_id,
        widget_name=claim.widget_name,
        client_name=claim.client_name,
        error_type=claim.error_type,
        error_detail=claim.error_detail,
        since=claim.since,
        at=claim.at,
        admin_url=f"{settings.public_base_url.rstrip('/')}/admin/widgets/{claim.widget_id}",
    )


def _emit_metrics(tally: CheckTally) -> None:
    add_metric("WebhooksProbed", MetricUnit.Count, tally.probed)
    add_metric("WebhooksHealthy", MetricUnit.Count, tally.healthy)
    add_metric("WebhooksFailing", MetricUnit.Count, tally.failing)
    for kind, count in tally.by_kind.items():
        add_error_count("WebhookCheckFailures", count, error_type=kind)
