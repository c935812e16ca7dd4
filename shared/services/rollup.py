"""The analytics rollup (DESIGN.md "Jobs", README "Analytics"): every 15 minutes, yesterday and
today (UTC), each recomputed (one set-based upsert into `analytics`) only when its logs changed
since its last rollup; `since` reprocesses every day from that day on (the backfill). Idempotent: a
day rolled up twice gives the same rows."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from shared.db import Database
from shared.jobs import JobContext
from shared.repositories import analytics

# A rolled-up day is covered by its stored rows up to this long before the rollup ran, so a log
# committed late (its created_at is when its write began) still lands in what the reads compute live.
SETTLE_MARGIN = timedelta(minutes=5)
# Stop a backfill with this much time left, leaving the rest to the next run.
_RESERVE_SECONDS = 30.0


async def rollup_day(
    db: Database, day: date, *, today: date | None = None, skip_unchanged: bool = False
) -> tuple[int, int]:
    """Roll up one UTC day for every widget, in one transaction: (rows written, stale rows deleted).
    Yesterday and today (given `today`) keep a fingerprint of their logs; with `skip_unchanged`, a
    day whose logs did not change since its last rollup is only marked covered further.

    One day per statement and transaction: several days in one statement measured slower than one
    at a time (the work is per log, and larger sorts spill), and one day (~1 s at 5 million logs)
    lets a Lambda run stop in time."""
    return await db.run(
        analytics.upsert_days,
        days=[day],
        settle_margin=SETTLE_MARGIN,
        skip_unchanged=skip_unchanged,
        fingerprint_from=today - timedelta(days=1) if today else None,
    )


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
        # The scheduled run skips what did not change; a backfill (`since`) recomputes every day.
        rows, stale = await rollup_day(job.db, day, today=today, skip_unchanged=job.since is None)
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
