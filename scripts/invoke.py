"""Run one scheduled job once, locally, the way Lambda runs it.

    python -m scripts.invoke webhook_check
    python -m scripts.invoke analytics_rollup --since 2026-01-01   # reprocess from that day on
    python -m scripts.invoke demo_purge --json                      # only the summary, as JSON

The job's handler gets an EventBridge "Scheduled Event" and a Lambda-like context, on $DATABASE_URL
or else the embedded Postgres under .data/ (with the dev runner's defaults for every other setting).
The summary goes to stdout and the job's log lines to stderr; if the job raises, its error is
printed and the exit status is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from scripts.devenv import prepare_environment

# The scheduled functions and how often template.yaml runs them (seconds).
SCHEDULES: dict[str, float] = {
    "analytics_rollup": 15 * 60,
    "webhook_check": 60 * 60,
    "demo_purge": 60 * 60,
}
LOCAL_ACCOUNT = "000000000000"
LOCAL_REGION = "local"
JOB_TIMEOUT_SECONDS = 300  # the jobs' Timeout in template.yaml


@dataclass(frozen=True)
class LocalContext:
    """The parts of Lambda's context object a handler reads."""

    function_name: str
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    memory_limit_in_mb: int = 512
    timeout_seconds: float = JOB_TIMEOUT_SECONDS
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.started + self.timeout_seconds - time.monotonic()) * 1000))


def scheduled_event(name: str, *, since: date | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends on a schedule; `since` adds `{"since": "YYYY-MM-DD"}` (a backfill,
    as one would send it with `aws lambda invoke --payload`)."""
    now = now or datetime.now(UTC)
    event: dict[str, Any] = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": LOCAL_ACCOUNT,
        "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": LOCAL_REGION,
        "resources": [f"arn:aws:events:{LOCAL_REGION}:{LOCAL_ACCOUNT}:rule/{name}"],
        "detail": {},
    }
    if since is not None:
        event["since"] = since.isoformat()
    return event


def invoke(name: str, *, since: date | None = None) -> dict[str, Any]:
    """Run job `name` once through its Lambda handler; returns its summary, raises what it raises."""
    if name not in SCHEDULES:
        raise ValueError(f"no scheduled function named {name!r} (one of {', '.join(sorted(SCHEDULES))})")
    module = importlib.import_module(f"functions.{name}.handler")
    summary: dict[str, Any] = module.handler(scheduled_event(name, since=since), LocalContext(name))
    return summary


@contextlib.contextmanager
def output_to_stderr() -> Iterator[None]:
    """The platform's log lines and EMF metrics go to stderr meanwhile, so stdout holds the summary."""
    from shared.observability import logger

    handler = logger.registered_handler
    previous = handler.setStream(sys.stderr) if isinstance(handler, logging.StreamHandler) else None
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if previous is not None:
            assert isinstance(handler, logging.StreamHandler)
            handler.setStream(previous)


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("name", choices=sorted(SCHEDULES), help="the scheduled function to run")
    parser.add_argument(
        "--since", type=_day, help="first day to (re)process, YYYY-MM-DD (the rollup's backfill)"
    )
    parser.add_argument("--json", action="store_true", help="print only the summary, as one line of JSON")
    args = parser.parse_args(argv)

    prepare_environment()
    from shared import jobs

    started = time.perf_counter()
    try:
        with output_to_stderr():
            summary = invoke(args.name, since=args.since)
    except Exception as exc:
        print(f"error: {args.name} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        jobs.shutdown()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{args.name} finished in {time.perf_counter() - started:.1f} s:")
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
