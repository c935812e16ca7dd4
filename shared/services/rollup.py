"""The analytics rollup (DESIGN.md "Jobs", README "Analytics"): every 15 minutes, today and
yesterday (UTC), one set-based upsert per day into `analytics`; `since` reprocesses from that day on
(the backfill). Idempotent: a day rolled up twice gives the same rows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.db import Database
from shared.jobs import JobContext
from shared.repositories import analytics

# A rolled-up day is covered by its stored rows up to this long before the rollup ran, so a log
# committed late (its created_at is when its write began) still lands in what the reads compute live.
SETTLE_MARGIN = timedelta(minutes=5)
# Stop a backfill with this much time left, leaving the rest to the next run.
_RESERVE_SECONDS = 30.0


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day [start, end)."""
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


async def rollup_day(db: Database, day: date) -> tuple[int, int]:
    """Roll up one UTC day for every widget: (rows written, stale rows deleted)."""
    lo, hi = day_bounds(day)
    return await db.run(analytics.upsert_day, day=day, lo=lo, hi=hi, settle_margin=SETTLE_MARGIN)


async def run_rollup(job: JobContext) -> dict[str, Any]:
    """The job: yesterday and today, or every day from `since` to today; oldest first."""
    today = job.now.astimezone(UTC).date()
    first = job.since or today - timedelta(days=1)
    if first > today:
        raise ValueError(f"'since' ({first}) is after today ({today})")
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    written = deleted = 0
    done: list[date] = []
    for day in days:
        if done and job.remaining_seconds() < _RESERVE_SECONDS:
            job.logger.warning("rollup stopped for time", extra={"next_day": day.isoformat()})
            break
        rows, stale = await rollup_day(job.db, day)
        written += rows
        deleted += stale
        done.append(day)
    return {
        "days": len(done),
        "first_day": done[0].isoformat() if done else None,
        "last_day": done[-1].isoformat() if done else None,
        "rows_written": written,
        "rows_deleted": deleted,
        "complete": len(done) == len(days),
    }
