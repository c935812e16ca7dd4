"""The purge / retention job (`demo_purge`): expired demo widgets, chat logs past a widget's
`config.retention_days`, webhook errors past WEBHOOK_ERROR_RETENTION_DAYS and ended rate-limit
windows.

Every delete is a batch of at most a few thousand rows in its own short transaction, so the job
never holds locks for long however much there is to delete. An expired demo widget's rows go first,
table by table, then the widget itself (whatever arrived meanwhile goes with it by cascade). The
analytics rollups of live widgets stay when their chat logs expire, so the dashboard's history
survives retention. Safe to run twice at once and idempotent: a second run finds nothing to delete.
When the invocation is about to time out the job stops between batches; the next run goes on.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from shared.db import Database
from shared.repositories import purge, rate_limits
from shared.repositories import widgets as widgets_repo

if TYPE_CHECKING:
    from shared.jobs import JobContext

ROW_BATCH = 5000  # rows per delete statement (one short transaction each)
WIDGET_BATCH = 100  # expired demo widgets taken at a time
STOP_WHEN_SECONDS_LEFT = 20.0  # leave the rest to the next run rather than be cut off mid-batch
TimeLeft = Callable[[], bool]
TABLES = ("widgets", "chat_logs", "analytics", "webhook_errors", "rate_limits")


class PurgeTally:
    """Rows deleted per table, and whether the run got through everything."""

    def __init__(self) -> None:
        self.deleted: Counter[str] = Counter()
        self.complete = True

    def summary(self) -> dict[str, Any]:
        return {"deleted": {table: self.deleted[table] for table in TABLES}, "complete": self.complete}


async def run_purge(job: JobContext) -> dict[str, Any]:
    """The `demo_purge` job: returns what it deleted per table."""
    tally = PurgeTally()

    def time_left() -> bool:
        if job.remaining_seconds() > STOP_WHEN_SECONDS_LEFT:
            return True
        tally.complete = False
        return False

    await purge_expired_demo_widgets(job.db, now=job.now, tally=tally, time_left=time_left)
    await apply_chat_log_retention(job.db, now=job.now, tally=tally, time_left=time_left)
    await purge_webhook_errors(
        job.db,
        before=job.now - timedelta(days=job.settings.webhook_error_retention_days),
        tally=tally,
        time_left=time_left,
    )
    await _drain(job.db, tally, "rate_limits", time_left, rate_limits.delete_expired, limit=ROW_BATCH)
    job.logger.info("purge done", extra={"deleted": dict(tally.deleted), "complete": tally.complete})
    return tally.summary()


async def purge_expired_demo_widgets(
    db: Database, *, now: datetime, tally: PurgeTally, time_left: TimeLeft
) -> None:
    """Delete the demo widgets expired by `now` and everything below them, in batches."""
    while time_left():
        ids = await db.run(widgets_repo.expired_demo_widget_ids, now=now, limit=WIDGET_BATCH)
        if not ids:
            return
        for table in ("chat_logs", "webhook_errors", "analytics"):
            if not await _drain(
                db,
                tally,
                table,
                time_left,
                purge.delete_rows_of_widgets,
                table=table,
                ids=ids,
                limit=ROW_BATCH,
            ):
                return
        gone = await db.run(widgets_repo.delete_expired_demo_widgets, ids=ids, now=now)
        tally.deleted["widgets"] += len(gone.ids)
        tally.deleted["chat_logs"] += gone.chat_logs
        tally.deleted["analytics"] += gone.analytics
        tally.deleted["webhook_errors"] += gone.webhook_errors
        if not gone.ids:
            return  # another run holds them; it deletes them


async def apply_chat_log_retention(
    db: Database, *, now: datetime, tally: PurgeTally, time_left: TimeLeft
) -> None:
    """Delete each widget's chat logs older than its `config.retention_days`, where set."""
    for widget_id, days in await db.run(widgets_repo.widgets_with_retention):
        if not await _drain(
            db,
            tally,
            "chat_logs",
            time_left,
            purge.delete_chat_logs_before,
            widget_id=widget_id,
            before=now - timedelta(days=days),
            limit=ROW_BATCH,
        ):
            return


async def purge_webhook_errors(
    db: Database, *, before: datetime, tally: PurgeTally, time_left: TimeLeft
) -> None:
    """Delete webhook errors that occurred before `before`."""
    await _drain(
        db,
        tally,
        "webhook_errors",
        time_left,
        purge.delete_webhook_errors_before,
        before=before,
        limit=ROW_BATCH,
    )


async def _drain(
    db: Database, tally: PurgeTally, counted_as: str, time_left: TimeLeft, delete: Any, **kwargs: Any
) -> bool:
    """Run the batch `delete` until it deletes less than a full batch; False if time ran out."""
    while time_left():
        count = await db.run(delete, **kwargs)
        tally.deleted[counted_as] += count
        if count < kwargs["limit"]:
            return True
    return False
