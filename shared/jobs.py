"""How every scheduled function runs (DESIGN.md "Jobs"): `handler = job_handler(run, name="...")`.

A Lambda process runs one invocation at a time and is reused while warm, so the process keeps one
event loop and one `Database` for its whole life: psycopg's async connections belong to the loop
that opened them, and `asyncio.run` per invocation (a new loop each time) could not reuse them.
Each invocation
- logs "job started", then "job finished" with the job's summary or "job failed" with the error,
  every line carrying the job's name and the invocation's correlation id (the Lambda request id,
  else the EventBridge event id);
- emits `JobDuration` (ms) and, on success, `JobSucceeded` (1), with the dimension `Job`, and
  flushes every metric of the invocation (EMF);
- returns the job's summary as JSON-safe data, or re-raises its error so that Lambda counts it (the
  error alarm, the dead-letter destination).

Imports no FastAPI and no service: a job's cold start pays only for what its own `run` imports.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from pydantic_core import to_jsonable_python

from shared.db import Database
from shared.observability import logger, metrics
from shared.settings import Settings, get_settings

JOB_DIMENSION = "Job"
LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass(frozen=True)
class JobContext:
    """What a job's `run` gets for one invocation."""

    name: str
    settings: Settings
    db: Database
    event: Mapping[str, Any]
    now: datetime  # when the invocation started (UTC)
    logger: Logger
    lambda_context: Any = None

    @property
    def since(self) -> date | None:
        """The first day to (re)process when the invocation names one (`{"since": "2026-01-01"}`,
        as `scripts/invoke.py --since` sends); None for a scheduled run."""
        value = self.event.get("since")
        if value is None:
            return None
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"'since' must be a date (YYYY-MM-DD), not {value!r}") from None

    def remaining_seconds(self) -> float:
        """Time left before Lambda ends this invocation (infinite outside Lambda), so a long job can
        stop in time and leave the rest to its next run."""
        remaining = getattr(self.lambda_context, "get_remaining_time_in_millis", None)
        return remaining() / 1000 if callable(remaining) else math.inf


JobRun = Callable[[JobContext], Awaitable[dict[str, Any]]]


def job_handler(run: JobRun, *, name: str) -> LambdaHandler:
    """The Lambda handler of the job `name`: runs `run` once per invocation on the process's loop
    and database, and returns its summary."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with _lock:  # one invocation at a time, as in Lambda (the dev runner calls from a thread)
            try:
                process = _process()
            except Exception:
                logger.exception("job failed", extra={"job": name})  # a configuration error
                raise
            return process.loop.run_until_complete(
                run_job(
                    run, name=name, event=event, context=context, settings=process.settings, db=process.db
                )
            )

    return handler


async def run_job(
    run: JobRun,
    *,
    name: str,
    event: Mapping[str, Any],
    context: Any,
    settings: Settings,
    db: Database,
) -> dict[str, Any]:
    """One invocation of a job (what `job_handler`'s handler runs on the process's loop)."""
    global _cold_start
    keys: dict[str, object] = {
        "job": name,
        "correlation_id": correlation_id(event, context),
        "cold_start": _cold_start,
        **_lambda_keys(context),
    }
    if event.get("id"):
        keys["event_id"] = str(event["id"])
    _cold_start = False
    logger.thread_safe_append_keys(**keys)
    started = time.perf_counter()
    try:
        logger.info("job started", extra={"since": event["since"]} if event.get("since") else None)
        job = JobContext(
            name=name,
            settings=settings,
            db=db,
            event=event,
            now=datetime.now(UTC),
            logger=logger,
            lambda_context=context,
        )
        try:
            summary = to_jsonable_python(await run(job))
            if not isinstance(summary, dict):
                raise TypeError(f"job {name} returned {type(summary).__name__}, not a summary dict")
        except Exception as exc:
            duration_ms = _elapsed_ms(started)
            logger.error(
                "job failed",
                # A job not built yet says all there is in its message; anything else needs its traceback.
                exc_info=not isinstance(exc, NotImplementedError),
                extra={"error": f"{type(exc).__name__}: {exc}", "duration_ms": duration_ms},
            )
            _flush_metrics(name, duration_ms=duration_ms, succeeded=False)
            raise
        duration_ms = _elapsed_ms(started)
        logger.info("job finished", extra={"summary": summary, "duration_ms": duration_ms})
        _flush_metrics(name, duration_ms=duration_ms, succeeded=True)
        return summary
    finally:
        logger.thread_safe_remove_keys(keys)


def correlation_id(event: Mapping[str, Any], context: Any) -> str:
    """The id that ties an invocation's log lines together: the Lambda request id (also on Lambda's
    own START/END/REPORT lines), else the EventBridge event id, else a new one."""
    request_id = getattr(context, "aws_request_id", None)
    return str(request_id or event.get("id") or uuid.uuid4())


def database_for(settings: Settings) -> Database:
    """The job process's database, configured as the HTTP functions' is (opened on first use)."""
    assert settings.database_url is not None  # Settings refuses a configuration without one
    return Database(
        settings.database_url.get_secret_value(),
        statement_timeout_ms=settings.db_statement_timeout_ms,
        pool_size=settings.db_pool_size,
        operation_timeout=settings.db_operation_timeout_seconds,
    )


def shutdown() -> None:
    """Close the process's database connections and event loop (`scripts/invoke.py` and the dev
    runner when they end; tests). The next invocation starts afresh."""
    global _current
    with _lock:
        process, _current = _current, None
        if process is None:
            return
        try:
            process.loop.run_until_complete(process.db.close())
        finally:
            process.loop.close()


@dataclass(frozen=True)
class _Process:
    settings: Settings
    db: Database
    loop: asyncio.AbstractEventLoop


_current: _Process | None = None
_cold_start = True
_lock = threading.Lock()


def _process() -> _Process:
    """The process's settings, database and loop, made by its first invocation."""
    global _current
    if _current is None:
        settings = get_settings()
        _current = _Process(settings, database_for(settings), asyncio.new_event_loop())
    return _current


def _lambda_keys(context: Any) -> dict[str, object]:
    """The Lambda context fields Powertools' `inject_lambda_context` would log, when there is one."""
    if context is None:
        return {}
    fields = {
        "function_name": "function_name",
        "function_memory_size": "memory_limit_in_mb",
        "function_arn": "invoked_function_arn",
        "function_request_id": "aws_request_id",
    }
    return {
        key: getattr(context, attribute) for key, attribute in fields.items() if hasattr(context, attribute)
    }


def _flush_metrics(name: str, *, duration_ms: float, succeeded: bool) -> None:
    try:
        metrics.add_dimension(JOB_DIMENSION, name)
        metrics.add_metric(name="JobDuration", unit=MetricUnit.Milliseconds, value=duration_ms)
        if succeeded:
            metrics.add_metric(name="JobSucceeded", unit=MetricUnit.Count, value=1)
        metrics.flush_metrics()
    except Exception:
        logger.exception("job metrics not flushed")
    finally:
        # Flushing clears them; with metrics disabled (POWERTOOLS_DEV, tests) it keeps them, and a
        # long-running process (the dev runner) would pile them up.
        metrics.clear_metrics()


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)
