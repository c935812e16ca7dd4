"""The analytics rollup (DESIGN.md "Jobs", README "Analytics"): every 15 minutes, yesterday and
today (UTC), each recomputed (one set-based upsert into `analytics`) only when its logs changed
since its last rollup; `since` reprocesses every day from that day on (the backfill). Idempotent: a
day rolled up twice gives the same rows."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import UTC, date, timedelta
from typing import Any, TypeVar

import psycopg

from shared.db import Database
from shared.jobs import JobContext
from shared.repositories import analytics

# A rolled-up day is covered by its stored rows up to this long before the rollup ran, so a log
# committed late (its created_at is when its write began) still lands in what the reads compute live.
SETTLE_MARGIN = timedelta(minutes=5)
# Stop a backfill with this much time left, leaving the rest to the next run.
_RESERVE_SECONDS = 30.0
# A backfill computes this many days (and builds this many blocks of lists) at once, each on its own
# connection: the computing is per log and single-threaded in Postgres, so a second day uses a
# second core while the first is written.
PARALLEL_WORKERS = 2

T = TypeVar("T")


async def rollup_day(
    db: Database,
    day: date,
    *,
    today: date | None = None,
    skip_unchanged: bool = False,
    compute_unlocked: bool = False,
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
        compute_unlocked=compute_unlocked,
    )


async def run_rollup(job: JobContext) -> dict[str, Any]:
    """The job: yesterday and today, or every day from `since` to today; oldest first. A backfill
    computes the days before yesterday two at a time (`_settled_days`), then yesterday and today."""
    today = job.now.astimezone(UTC).date()
    first = job.since or today - timedelta(days=1)
    if first > today:
        raise ValueError(f"'since' ({first}) is after today ({today})")
    days = [first + timedelta(days=n) for n in range((today - first).days + 1)]
    settled = [day for day in days if day < today - timedelta(days=1)]
    done, written, deleted = await _settled_days(job, settled)
    for day in days[len(settled) :] if len(done) == len(settled) else []:  # yesterday and today
        if done and job.remaining_seconds() < _RESERVE_SECONDS:
            job.logger.warning("rollup stopped for time", extra={"next_day": day.isoformat()})
            break
        # The scheduled run skips what did not change; a backfill (`since`) recomputes every day.
        rows, stale = await rollup_day(job.db, day, today=today, skip_unchanged=job.since is None)
        written += rows
        deleted += stale
        done.append(day)
    blocks = await build_list_blocks(job) if len(done) == len(days) else 0
    if job.since is not None and done:
        await job.db.run(analytics.analyze_rollup_tables)
    return {
        "days": len(done),
        "first_day": done[0].isoformat() if done else None,
        "last_day": done[-1].isoformat() if done else None,
        "rows_written": written,
        "rows_deleted": deleted,
        "list_blocks_built": blocks,
        "complete": len(done) == len(days),
    }


async def _settled_days(job: JobContext, days: list[date]) -> tuple[list[date], int, int]:
    """A backfill's days before yesterday (no fingerprints, nothing skipped), oldest first, two at a
    time (`_in_parallel`): a worker computes its day while the other's waits for, or holds, the
    rollup's lock to write (`compute_unlocked`). The days done (the first ones: a worker takes the
    next day only with time left), rows written and stale rows deleted."""
    counts = [0, 0]

    async def roll_up(db: Database, day: date) -> bool:
        rows, stale = await rollup_day(db, day, compute_unlocked=True)
        counts[0] += rows
        counts[1] += stale
        return True

    done = await _in_parallel(job, days, roll_up, "rollup stopped for time")
    return sorted(done), counts[0], counts[1]


async def build_list_blocks(job: JobContext) -> int:
    """Build the blocks of lists the reads may use (README "Analytics"): those every one of whose
    days is rolled up and that are not built yet, for every widget, and those stale for some widget
    (a day under them changed since), for those widgets. Most runs build none: a block is built on
    the day its last day is, again while that day changes, and a backfill's at its end. Lowest level
    first (a block is built from its halves), two blocks at a time (`_in_parallel`), one per
    transaction; how many were built. A block left unbuilt (time, or a widget deleted while it was
    built) costs reads only time: they read its days instead."""

    async def build(db: Database, block: tuple[int, date]) -> bool:
        level, first_day = block
        try:
            return await db.run(analytics.build_list_block, level=level, first_day=first_day) is not None
        except (psycopg.errors.DeadlockDetected, psycopg.errors.ForeignKeyViolation) as exc:
            job.logger.warning(
                "list block not built",
                extra={"level": level, "first_day": str(first_day), "error": type(exc).__name__},
            )
            return False

    missing = await job.db.run(analytics.missing_list_blocks)
    built = 0
    for level in analytics.LIST_BLOCK_LEVELS:
        blocks = [block for block in missing if block[0] == level]
        done = await _in_parallel(job, blocks, build, "list blocks left for the next run")
        built += len(done)
        if len(done) < len(blocks) and job.remaining_seconds() < _RESERVE_SECONDS:
            break
    return built


async def _in_parallel(
    job: JobContext,
    items: list[T],
    work: Callable[[Database, T], Awaitable[bool]],
    stop_message: str,
) -> list[T]:
    """`work(db, item)` for every item, in order, by PARALLEL_WORKERS workers with a connection each
    (the job's and clones of it); a worker takes the next item only with time left (then logs
    `stop_message` and every worker stops). The items whose work returned True."""
    queue = deque(items)
    done: list[T] = []

    async def worker(db: Database) -> None:
        while queue:
            if job.remaining_seconds() < _RESERVE_SECONDS:
                job.logger.warning(stop_message, extra={"next": str(queue[0])})
                queue.clear()
                return
            item = queue.popleft()
            if await work(db, item):
                done.append(item)

    extra = [job.db.clone() for _ in range(min(PARALLEL_WORKERS, len(items)) - 1)]
    try:
        async with asyncio.TaskGroup() as group:
            for db in (job.db, *extra):
                group.create_task(worker(db))
    except ExceptionGroup as failed:  # the others were cancelled: raise what failed, as one worker would
        raise failed.exceptions[0] from None
    finally:
        for db in extra:
            await db.close()
    return done
