"""`make dev`: the dev runner migrates, seeds and serves every function on one port."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psycopg

from scripts.bench.harness import free_port


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
