"""The analytics rollup (DESIGN.md "Jobs", README "Analytics"): every 15 minutes, yesterday and
today (UTC), each recomputed (one set-based upsert into `analytics`) only when its logs changed
since its last rollup; `since` reprocesses every day from that day on (the backfill). Idempotent: a
day rolled up twice gives the same rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from shared.db import Database
from shared.jobs import JobContext
from shared.repositories import analytics

# A rolled-up day is covered by its stored rows up to this long before the rollup ran, so a log
# committed late (its created_at is when its write began) still lands in what the reads compute live.
SETTLE_MARGIN = timedelta(minutes=5)
# Days per statement and transaction. Several days in one statement measured slower than one at a
# time (the work is per log, and larger sorts spill), and one day (~1 s at 5 million logs) lets a
# Lambda run stop in time.
BATCH_DAYS = 1
# Stop a backfill with this much time left, leaving the rest to the next run.
_RESERVE_SECONDS = 30.0


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC day [start, end)."""
    start = datetime.combine(day, time(), UTC)
    return start, start + timedelta(days=1)


async def rollup_days(
    db: Database, days: Sequence[date], *, today: date | None = None, skip_unchanged: bool = False
) -> tuple[int, int]:
    """Roll up these UTC days for every widget in one transaction: (rows written, stale rows
    deleted). Yesterday and today (given `today`) keep a fingerprint of their logs; with
    `skip_unchanged`, those whose logs did not change since their last rollup are only marked
    covered further."""
    return await db.run(
        analytics.upsert_days,
        days=days,
        settle_margin=SETTLE_MARGIN,
        skip_unchanged=skip_unchanged,
        fingerprint_from=today - timedelta(days=1) if today else None,
    )


async def rollup_day(db: Database, day: date) -> tuple[int, int]:
    """Roll up one UTC day for every widget: (rows written, stale rows deleted)."""
    return await rollup_days(db, [day])


async def run_rollup(job: JobContext) -> dict[str, Any]:
    """The job: yesterday and today, or every day from `since` to today; oldest first, in batches."""
    today = job.now.astimezone(UTC).date()
    first = job.since or today - timedelta(days=1)
    if first > today:
        raise ValueError(f"'since' ({first}) is after today ({today})")
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    written = deleted = 0
    done: list[date] = []
    for start in range(0, len(days), BATCH_DAYS):
        batch = days[start : start + BATCH_DAYS]
        if done and job.remaining_seconds() < _RESERVE_SECONDS:
            job.logger.warning("rollup stopped for time", extra={"next_day": batch[0].isoformat()})
            break
        # The scheduled run skips what did not change; a backfill (`since`) recomputes every day.
        rows, stale = await rollup_days(job.db, batch, today=today, skip_unchanged=job.since is None)
        written += rows
        deleted += stale
        done.extend(batch)
    return {
        "days": len(done),
        "first_day": done[0].isoformat() if done else None,
        "last_day": done[-1].isoformat() if done else None,
        "rows_written": written,
        "rows_deleted": deleted,
        "complete": len(done) == len(days),
    }
