"""Jobs on a real database: a warm process keeps its connection; `scripts/invoke.py` runs a job once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scripts import invoke
from scripts.bench.harness import free_port
from shared import jobs
from shared.jobs import JobContext, job_handler
from shared.settings import get_settings
from tests.conftest import LogCapture


@pytest.fixture
def job_environment(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A job process configured for the test database; the environment, settings and the jobs'
    process state are restored afterwards (scripts/invoke.py fills in development defaults)."""
    saved = dict(os.environ)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ENVIRONMENT", "development")
    get_settings.cache_clear()
    jobs.shutdown()
    yield db_url
    jobs.shutdown()
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


async def backend_pid(job: JobContext) -> dict[str, Any]:
    """A job that reports which server process (so which connection) answered it."""

    async def query(conn: psycopg.AsyncConnection[Any]) -> Any:
        cursor = await conn.execute("SELECT pg_backend_pid() AS pid, count(*) AS widgets FROM widgets")
        return await cursor.fetchone()

    row = await job.db.run(query)
    return {"pid": row["pid"], "widgets": row["widgets"], "since": job.since, "event": dict(job.event)}


def test_a_warm_job_process_keeps_its_database_connection(job_environment: str) -> None:
    # Given a job's handler, as its Lambda function would hold it
    handler = job_handler(backend_pid, name="probe")

    # When Lambda invokes it three times in one warm process
    pids = {handler(invoke.scheduled_event("probe"), invoke.LocalContext("probe"))["pid"] for _ in range(3)}

    # Then all three ran on the one connection the first opened
    assert len(pids) == 1
    with psycopg.connect(job_environment) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pids.pop(),)).fetchone()
    assert row == (1,)


def test_invoke_runs_a_job_once_and_prints_its_summary_as_json(
    job_environment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    platform_logs: LogCapture,
) -> None:
    # Given a job (standing in for demo_purge) that reports the event it got
    import functions.demo_purge.handler as module

    monkeypatch.setattr(module, "handler", job_handler(backend_pid, name="demo_purge"))

    # When `scripts/invoke.py demo_purge --since 2026-01-01 --json` runs it
    status = invoke.main(["demo_purge", "--since", "2026-01-01", "--json"])

    # Then stdout is the summary alone, one line of JSON, of a run on a scheduled event with the date
    out = capsys.readouterr().out
    assert status == 0
    assert len(out.splitlines()) == 1
    summary = json.loads(out)
    assert summary["widgets"] == 0
    assert summary["since"] == "2026-01-01"
    assert summary["event"]["detail-type"] == "Scheduled Event"
    assert summary["event"]["since"] == "2026-01-01"
    # and the run was logged under the job's name
    assert platform_logs.named("job finished")[0]["job"] == "demo_purge"


def test_invoke_exits_1_with_the_error_when_the_job_raises(repo_root: Path) -> None:
    # Given a job whose database cannot be reached (nothing listens on that port)
    env = {**os.environ, "DATABASE_URL": f"postgresql://nobody@127.0.0.1:{free_port()}/none"}

    # When it is invoked from the command line
    result = subprocess.run(
        [sys.executable, "-m", "scripts.invoke", "webhook_check"],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # Then it exits 1 naming the job and its error, and prints no summary
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error: webhook_check failed: DatabaseUnavailableError:" in result.stderr
    assert result.stdout == ""
