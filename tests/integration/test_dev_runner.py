"""`make dev`: the dev runner migrates, seeds and serves every function on one port, runs the jobs,
and stops with its embedded Postgres however it is stopped."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from scripts import dev
from scripts.bench.harness import free_port
from scripts.invoke import SCHEDULES
from scripts.seed import seed
from shared.settings import get_settings


def start_dev_runner(
    repo_root: Path, log: Path, *args: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m scripts.dev ARGS` and its base URL, once it serves (`/` answers); output in `log`."""
    port = free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.dev", "--port", str(port), *args],
            cwd=repo_root,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        if "serving on" in log.read_text():
            try:
                if (
                    httpx.get(f"http://127.0.0.1:{port}/", timeout=5, follow_redirects=True).status_code
                    == 200
                ):
                    return proc, f"http://127.0.0.1:{port}"
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError(f"the dev runner did not start:\n{log.read_text()}")


def running(pid: int) -> bool:
    """Whether process `pid` exists and has not exited (a zombie has)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_dev_runner_serves_the_seeded_widget(db_url: str, repo_root: Path, tmp_path: Path) -> None:
    # Given the dev runner started on an empty database
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "SIGNING_KEY": "dev-key-" + "x" * 40}
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "scripts.dev", "--port", str(port)],
            cwd=repo_root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "serving on" not in log.read_text():
            assert proc.poll() is None, log.read_text()
            time.sleep(0.2)
        output = log.read_text()
        match = re.search(r"demo widget: (\S+)", output)
        assert match, output
        # When the seeded widget's config is fetched over HTTP
        response = httpx.get(f"{base}/v1/widgets/{match.group(1)}/config", timeout=10)
        # Then its public fields come back, and the admin password was printed once
        assert response.status_code == 200, response.text
        assert response.json()["title"] == "Demo Company"
        assert re.search(r"admin login: admin@example.com / \S+", output)
        with psycopg.connect(db_url) as conn:
            assert conn.execute("SELECT count(*) FROM widgets").fetchone() == (1,)
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.anyio
async def test_the_root_page_says_what_runs_and_links_the_demo_widget_and_the_api_docs(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Given the dev runner's app on a seeded database, with its jobs, before the admin SPA is built
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("ENVIRONMENT", "development")
    monkeypatch.setattr(dev, "ADMIN_DIST", tmp_path / "admin-not-built")
    get_settings.cache_clear()
    seeded = await seed(db_url, base_url="http://platform.test")
    app = dev.build_app(jobs=dev.JobScheduler(SCHEDULES))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://platform.test") as client:
            # When a developer opens /
            response = await client.get("/")

            # Then an HTML page lists the API functions with their routes, the widget, the sample bot
            # and the jobs with their schedules
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/html")
            page = response.text
            for function in ("widget_config", "chat", "auth", "admin", "analytics"):
                assert f"<td>{function}</td>" in page
            assert "POST /v1/widgets/{widget_id}/messages" in page
            assert "/widget.js" in page
            assert "/dev/sample-bot" in page
            for job, every in (
                ("analytics_rollup", "15 min"),
                ("webhook_check", "1 h"),
                ("demo_purge", "1 h"),
            ):
                assert f"<td>{job}</td><td>every {every}</td>" in page
            # and its links lead to the seeded widget's demo page and to the API docs
            links = re.findall(r'href="([^"]+)"', page)
            assert f"/dev/widgets/{seeded.widget_id}" in links
            assert {"/docs", "/openapi.json"} <= set(links)
            for link in links:
                followed = await client.get(link)
                assert followed.status_code == 200, (link, followed.text)
            assert "swagger-ui" in (await client.get("/docs")).text
            tried = (await client.get(f"/dev/widgets/{seeded.widget_id}")).text
            assert f'<script src="/widget.js" data-widget-id="{seeded.widget_id}" defer></script>' in tried
            assert (await client.get(f"/dev/widgets/{uuid.uuid4()}")).status_code == 404
    finally:
        await app.state.resources.aclose()
        get_settings.cache_clear()


def test_the_dev_runner_runs_the_jobs_on_their_schedules_and_keeps_serving(
    db_url: str, repo_root: Path, tmp_path: Path
) -> None:
    # Given the dev runner with every job due every 0.5 s
    log = tmp_path / "dev.log"
    env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING"}
    proc, base_url = start_dev_runner(repo_root, log, "--no-seed", "--jobs-every", "0.5", env=env)
    try:
        # When the jobs have had time to run a few times
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(
            log.read_text().count(f"jobs: {name} done:") >= 2 for name in SCHEDULES
        ):
            time.sleep(0.1)

        # Then it announced their schedule, ran each of them again and again, and still serves
        output = log.read_text()
        assert (
            "jobs: analytics_rollup every 0.5 s, webhook_check every 0.5 s, demo_purge every 0.5 s" in output
        )
        for name in SCHEDULES:
            assert output.count(f"jobs: {name} done:") >= 2, output
        assert "failed" not in output, output
        assert proc.poll() is None, output
        assert httpx.get(f"{base_url}/", timeout=10, follow_redirects=True).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="module")
def embedded_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedded Postgres data directory for the signal tests (initialised by the first)."""
    return tmp_path_factory.mktemp("dev-runner-postgres") / "postgres"


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name)
def test_a_stop_signal_ends_the_dev_runner_and_its_embedded_postgres(
    stop_signal: signal.Signals, embedded_data_dir: Path, repo_root: Path, tmp_path: Path
) -> None:
    # Given the dev runner serving on its own embedded Postgres, with jobs running
    log = tmp_path / "dev.log"
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    proc, _ = start_dev_runner(
        repo_root, log, "--no-seed", "--jobs-every", "0.5", "--data-dir", str(embedded_data_dir), env=env
    )
    try:
        postmaster = int((embedded_data_dir / "postmaster.pid").read_text().split()[0])
        assert running(postmaster)

        # When a process manager, a closed terminal or Ctrl-C sends its signal
        proc.send_signal(stop_signal)

        # Then the runner exits normally, and the database server is gone within seconds
        assert proc.wait(timeout=30) == 0, log.read_text()
        deadline = time.monotonic() + 10
        while running(postmaster) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not running(postmaster), log.read_text()
        assert "stopped" in log.read_text().splitlines()  # (a last access-log line may follow it)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
