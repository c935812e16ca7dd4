"""shared.jobs runs every scheduled function; scripts/invoke.py and the dev runner call its handlers.

No database here: the runs below never touch it (tests/integration/test_jobs_runner.py does).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from scripts.dev import JobScheduler, every, overview_page
from scripts.invoke import SCHEDULES, LocalContext, scheduled_event
from shared import jobs
from shared.jobs import JobContext, job_handler
from shared.observability import logger, metrics
from shared.settings import get_settings
from tests.conftest import LogCapture
from tests.unit.test_template import function_properties

ROOT = Path(__file__).resolve().parents[2]
JOB_NAMES = sorted(SCHEDULES)
RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours)\)")


@pytest.fixture
def job_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings a job process reads at its first invocation, and a fresh process state after."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://jobs@localhost/never-connected")
    monkeypatch.setenv("ENVIRONMENT", "development")
    get_settings.cache_clear()
    jobs.shutdown()
    yield
    jobs.shutdown()
    get_settings.cache_clear()


def emitted_metrics(output: str) -> list[dict[str, Any]]:
    """The EMF documents Powertools printed."""
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


# --- handler modules -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", JOB_NAMES)
def test_a_job_handler_module_imports_no_web_framework(name: str) -> None:
    # Given a fresh interpreter configured as the job's Lambda function is
    env = {**os.environ, "DATABASE_URL": "postgresql://u@localhost/db", "ENVIRONMENT": "development"}
    probe = (
        f"import sys, functions.{name}.handler as m; "
        "print(sorted({n.split('.')[0] for n in sys.modules} & {'fastapi', 'starlette', 'mangum', 'aws_xray_sdk'})); "
        "print(callable(m.handler))"
    )

    # When it imports the job's handler module
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )

    # Then neither FastAPI (nor what comes with it) was imported, and the handler is there
    assert result.stdout.split() == ["[]", "True"], result.stderr


# --- shared.jobs -----------------------------------------------------------------------------------


def test_a_warm_process_reuses_its_loop_and_database(job_process: None) -> None:
    # Given a job that notes the loop and the database it ran on
    seen: list[tuple[asyncio.AbstractEventLoop, object]] = []

    async def run(job: JobContext) -> dict[str, Any]:
        seen.append((asyncio.get_running_loop(), job.db))
        return {"runs": len(seen)}

    handler = job_handler(run, name="noting")

    # When Lambda invokes it twice in one process
    first = handler(scheduled_event("noting"), LocalContext("noting"))
    second = handler(scheduled_event("noting"), LocalContext("noting"))

    # Then both runs shared one loop and one database, and each returned its summary
    assert (first, second) == ({"runs": 1}, {"runs": 2})
    assert seen[0][0] is seen[1][0] and not seen[0][0].is_closed()
    assert seen[0][1] is seen[1][1]


def test_the_summary_comes_back_as_json_safe_data(job_process: None) -> None:
    # Given a job whose summary holds ids, times and dates
    widget_id = uuid.uuid4()

    async def run(job: JobContext) -> dict[str, Any]:
        return {"widgets": [widget_id], "at": datetime(2026, 1, 2, 3, 4, tzinfo=UTC), "day": date(2026, 1, 2)}

    # When it runs
    summary = job_handler(run, name="summary")(scheduled_event("summary"), LocalContext("summary"))

    # Then the summary is what Lambda can serialise, and it says the same
    assert summary == {"widgets": [str(widget_id)], "at": "2026-01-02T03:04:00Z", "day": "2026-01-02"}
    assert json.loads(json.dumps(summary)) == summary


def test_a_run_logs_its_job_and_correlation_id_and_the_context_it_got(
    job_process: None, platform_logs: LogCapture
) -> None:
    # Given a job that logs, and an invocation with a request id and a backfill date
    got: list[JobContext] = []

    async def run(job: JobContext) -> dict[str, Any]:
        got.append(job)
        job.logger.info("working")
        return {"done": True}

    context = LocalContext("rollup")
    event = scheduled_event("rollup", since=date(2026, 1, 1))

    # When it runs
    job_handler(run, name="rollup")(event, context)

    # Then every line of the run carries the job and the Lambda request id as correlation id
    lines = [platform_logs.named(m)[0] for m in ("job started", "working", "job finished")]
    for line in lines:
        assert line["job"] == "rollup"
        assert line["correlation_id"] == context.aws_request_id
        assert line["event_id"] == event["id"]
    assert lines[2]["summary"] == {"done": True}
    # and the run saw the event, its settings and the backfill date
    job = got[0]
    assert job.since == date(2026, 1, 1)
    assert job.event["detail-type"] == "Scheduled Event"
    assert job.settings.is_development
    assert 0 < job.remaining_seconds() <= 300
    # and lines after the run no longer claim to belong to it
    logger.info("afterwards")
    assert "job" not in platform_logs.named("afterwards")[0]


def test_without_a_lambda_context_the_event_id_is_the_correlation_id(
    job_process: None, platform_logs: LogCapture
) -> None:
    async def run(job: JobContext) -> dict[str, Any]:
        return {}

    event = scheduled_event("plain")
    job_handler(run, name="plain")(event, None)
    assert platform_logs.named("job finished")[0]["correlation_id"] == event["id"]


def test_a_failing_run_is_logged_with_its_job_and_raised(
    job_process: None, platform_logs: LogCapture
) -> None:
    # Given a job that fails
    async def run(job: JobContext) -> dict[str, Any]:
        raise RuntimeError("webhook table locked")

    # When it runs, then the error reaches Lambda (which counts it for the alarm and the DLQ)
    with pytest.raises(RuntimeError, match="webhook table locked"):
        job_handler(run, name="breaking")(scheduled_event("breaking"), LocalContext("breaking"))

    # and the log says which job failed and why, with the traceback
    [failed] = platform_logs.named("job failed")
    assert failed["job"] == "breaking"
    assert failed["error"] == "RuntimeError: webhook table locked"
    assert "Traceback" in failed["exception"]


def test_a_summary_that_is_not_a_dict_is_a_failure(job_process: None) -> None:
    async def run(job: JobContext) -> dict[str, Any]:
        return ["not", "a", "summary"]  # type: ignore[return-value]  # what the test is about

    with pytest.raises(TypeError, match="not a summary dict"):
        job_handler(run, name="listing")(scheduled_event("listing"), None)


def test_a_malformed_since_is_refused_with_a_clear_message(job_process: None) -> None:
    async def run(job: JobContext) -> dict[str, Any]:
        return {"since": job.since}

    with pytest.raises(ValueError, match=r"'since' must be a date \(YYYY-MM-DD\), not '2026-13-01'"):
        job_handler(run, name="backfill")({"since": "2026-13-01"}, None)


@pytest.mark.parametrize("outcome", ["success", "failure"])
def test_every_run_flushes_its_duration_and_a_success_its_success_metric(
    outcome: str, job_process: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given metrics switched on, as in Lambda, and a job that succeeds or fails
    monkeypatch.delenv("POWERTOOLS_DEV", raising=False)
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")

    async def run(job: JobContext) -> dict[str, Any]:
        if outcome == "failure":
            raise RuntimeError("boom")
        return {}

    # When it runs
    with pytest.raises(RuntimeError) if outcome == "failure" else contextlib.nullcontext():
        job_handler(run, name="measured")(scheduled_event("measured"), LocalContext("measured"))

    # Then one EMF document went out with the job's dimension: its duration, and success only on success
    [document] = emitted_metrics(capsys.readouterr().out)
    [directive] = document["_aws"]["CloudWatchMetrics"]
    names = {metric["Name"] for metric in directive["Metrics"]}
    assert document["Job"] == "measured"
    assert ["Job", "service"] in [sorted(dimensions) for dimensions in directive["Dimensions"]]
    assert names == ({"JobDuration", "JobSucceeded"} if outcome == "success" else {"JobDuration"})
    assert [duration >= 0 for duration in document["JobDuration"]] == [True]
    # and nothing is left over for the next invocation
    assert not metrics.metric_set


# --- scripts/invoke.py: what Lambda would pass ---------------------------------------------------


def test_the_local_event_and_context_look_like_lambdas() -> None:
    event = scheduled_event(
        "analytics_rollup", since=date(2026, 1, 1), now=datetime(2026, 2, 3, 4, 5, tzinfo=UTC)
    )
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-02-03T04:05:00Z"
    assert event["since"] == "2026-01-01"
    assert uuid.UUID(event["id"])
    assert "since" not in scheduled_event("webhook_check")

    context = LocalContext("webhook_check")
    assert context.function_name == "webhook_check"
    assert context.invoked_function_arn.endswith(":function:webhook_check")
    assert uuid.UUID(context.aws_request_id)
    assert context.memory_limit_in_mb == 512
    assert 299_000 < context.get_remaining_time_in_millis() <= 300_000


@pytest.mark.parametrize("name", JOB_NAMES)
def test_jobs_run_locally_on_the_schedules_the_template_gives_them(name: str) -> None:
    # Given the function's EventBridge schedule in template.yaml
    [event] = function_properties(name)["Events"].values()
    match = RATE.fullmatch(event["Properties"]["Schedule"])
    assert match
    seconds = int(match.group(1)) * (60 if match.group(2).startswith("minute") else 3600)

    # Then the dev runner and scripts/invoke.py know the job with the same period
    assert SCHEDULES[name] == seconds


# --- the dev runner's scheduler ------------------------------------------------------------------


def test_the_scheduler_reports_a_job_not_built_yet_once_and_keeps_running_the_others() -> None:
    # Given one job that is not built yet, one that fails and one that works, each every 10 ms
    runs: dict[str, int] = {"unbuilt": 0, "failing": 0, "working": 0}
    reports: list[str] = []
    enough = threading.Event()

    def invoke(name: str) -> dict[str, Any]:
        runs[name] += 1
        if min(runs["failing"], runs["working"]) >= 3:
            enough.set()
        if name == "unbuilt":
            raise NotImplementedError("unbuilt arrives with a later issue")
        if name == "failing":
            raise RuntimeError("database away")
        return {"rolled_up": runs[name]}

    scheduler = JobScheduler(dict.fromkeys(runs, 0.01), invoke=invoke, report=reports.append)

    # When it runs for a while
    scheduler.start()
    try:
        assert enough.wait(5)
    finally:
        scheduler.stop()

    # Then the unbuilt job ran and was reported once; the others kept their schedule
    assert runs["unbuilt"] == 1
    assert [r for r in reports if "unbuilt" in r] == [
        "jobs: unbuilt not run again: unbuilt arrives with a later issue"
    ]
    assert sum("jobs: failing failed: RuntimeError: database away" in r for r in reports) >= 3
    assert any(r.startswith('jobs: working done: {"rolled_up": ') for r in reports)
    assert scheduler.outcomes["unbuilt"].startswith("not run again")
    assert scheduler.outcomes["failing"].startswith("failed at ")
    assert scheduler.outcomes["working"].startswith("done at ")


def test_the_scheduler_waits_until_the_server_is_up_and_stops_when_asked() -> None:
    # Given a scheduler whose server is not up yet
    calls: list[str] = []
    up = threading.Event()

    def invoke(name: str) -> dict[str, Any]:
        calls.append(name)
        return {}

    scheduler = JobScheduler({"job": 3600}, invoke=invoke, report=lambda _: None)
    scheduler.start(ready=up.is_set)

    # When nothing has started, no job runs; once the server is up, the first run happens at once
    time.sleep(0.3)
    assert calls == []
    up.set()
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    scheduler.stop()

    # Then one run happened, and stopping did not wait for the next period
    assert calls == ["job"]
    assert time.monotonic() - started < 2


def test_periods_read_as_people_say_them() -> None:
    assert [every(s) for s in (900, 3600, 7200, 30, 1.5, 90)] == [
        "15 min",
        "1 h",
        "2 h",
        "30 s",
        "1.5 s",
        "90 s",
    ]
    scheduler = JobScheduler(SCHEDULES, invoke=lambda name: {})
    assert (
        scheduler.describe() == "analytics_rollup every 15 min, webhook_check every 1 h, demo_purge every 1 h"
    )


def test_the_overview_page_without_a_demo_widget_or_jobs_says_how_to_get_them() -> None:
    page = overview_page(functions={"admin": []}, demo_widget_id=None, widget_built=False, jobs=None)
    assert "python -m scripts.seed" in page
    assert "off (<code>--no-jobs</code>)" in page
    assert "run <code>make widget</code>" in page
    assert "no routes yet" in page
