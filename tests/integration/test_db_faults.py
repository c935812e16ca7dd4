"""The relay when its database fails mid-request: a paused (stalled) server, a restarted one, and a
widget deleted while a process still caches it. Each test runs its own embedded Postgres, so pausing
or restarting it disturbs no other test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from scripts.localdb import DATA_DIR, embedded_server
from scripts.migrate import migrate
from shared.db import Database
from shared.errors import DatabaseUnavailableError
from tests.conftest import LogCapture
from tests.factories import make_widget
from tests.integration.conftest import PublicApi, open_public_api
from tests.n8n import FakeN8n

ORIGIN = "https://shop.example"
pytestmark = pytest.mark.anyio


class FaultyPostgres:
    """An embedded Postgres of the test's own that it can pause (SIGSTOP) and restart."""

    def __init__(self, data_dir: Path) -> None:
        self.server = embedded_server(data_dir, cleanup_mode="delete")
        self.data_dir = data_dir
        self.url = str(self.server.get_uri())

    def pids(self) -> list[int]:
        """The postmaster and every backend it started."""
        postmaster = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
                    children.append(int(entry.name))
        return [postmaster, *children]

    def pause(self) -> list[int]:
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    @staticmethod
    def resume(pids: list[int]) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def restart(self) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]  # not re-exported

        pg_ctl(["-w", "-m", "fast", "restart"], pgdata=self.data_dir, user=self.server.system_user)


@pytest.fixture(scope="module")
def faulty_postgres() -> FaultyPostgres:
    # Under .data/ like the shared test server, not under pytest's temporary directories: pytest
    # prunes and re-permissions those while other pytest sessions run, under the server's feet.
    server = FaultyPostgres(DATA_DIR / "faulty-postgres" / str(os.getpid()) / "pgdata")
    migrate(server.url)
    return server


@pytest.fixture
async def faulty_api(faulty_postgres: FaultyPostgres) -> AsyncIterator[PublicApi]:
    with psycopg.connect(faulty_postgres.url, autocommit=True) as conn:
        conn.execute("TRUNCATE clients, widgets, chat_logs, webhook_errors, rate_limits CASCADE")
    app, client = await open_public_api(
        faulty_postgres.url, webhook_timeout_seconds=5.0, widget_cache_seconds=300, db_pool_size=20
    )
    async with client:
        yield PublicApi(client=client, app=app, db_url=faulty_postgres.url)
    await app.state.resources.aclose()


async def _session(api: PublicApi, fake_n8n: FakeN8n) -> tuple[Any, str]:
    database = Database(api.db_url)
    try:
        limits = {"per_session_per_minute": 1000, "per_ip_per_minute": 1000}
        widget, _ = await make_widget(database, webhook_url=fake_n8n.url, config={"rate_limit": limits})
    finally:
        await database.close()
    _, token = await api.start_session(widget, origin=ORIGIN)
    return widget, token


async def _until(condition: Callable[[], bool]) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in 10 s")


async def test_a_stalled_database_answers_503_within_10_seconds_and_recovers(
    faulty_api: PublicApi, faulty_postgres: FaultyPostgres, fake_n8n: FakeN8n
) -> None:
    widget, token = await _session(faulty_api, fake_n8n)
    assert (await faulty_api.send(widget, token, "warm up", origin=ORIGIN)).status_code == 200
    pids = faulty_postgres.pause()
    try:
        started = time.monotonic()
        response = await faulty_api.send(widget, token, "Are you there?", origin=ORIGIN)
        elapsed = time.monotonic() - started
    finally:
        faulty_postgres.resume(pids)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert elapsed < 10, f"waited {elapsed:.1f} s on a stalled database"
    # The stuck connection was dropped, not reused: the next message goes through.
    after = await faulty_api.send(widget, token, "Now?", origin=ORIGIN)
    assert after.status_code == 200, after.text


async def test_a_database_stalling_while_the_webhook_answers_logs_the_exchange_to_the_function_log(
    faulty_api: PublicApi,
    faulty_postgres: FaultyPostgres,
    fake_n8n: FakeN8n,
    platform_logs: LogCapture,
) -> None:
    widget, token = await _session(faulty_api, fake_n8n)
    fake_n8n.reply({"output": "Your order ships Monday."}, delay=0.5)
    sending = asyncio.create_task(faulty_api.send(widget, token, "When does my order ship?", origin=ORIGIN))
    await _until(lambda: bool(fake_n8n.received))  # the webhook has it; the database stalls before the log
    pids = faulty_postgres.pause()
    try:
        started = time.monotonic()
        response = await sending
        elapsed = time.monotonic() - started
    finally:
        faulty_postgres.resume(pids)
    assert response.status_code == 503, response.text
    assert response.headers["access-control-allow-origin"] == ORIGIN
    assert "retry-after" in response.headers
    assert elapsed < 10
    (record,) = platform_logs.named("exchange not stored")
    assert record["exchange"]["message"] == "When does my order ship?"
    assert record["exchange"]["response"] == "Your order ships Monday."
    assert record["exchange"]["widget_id"] == str(widget.id)
    assert record["exchange"]["session_id"]
    assert widget.widget_secret.get_secret_value() not in json.dumps(record)


async def test_a_database_restart_while_webhooks_answer_loses_no_exchange(
    faulty_api: PublicApi,
    faulty_postgres: FaultyPostgres,
    fake_n8n: FakeN8n,
    platform_logs: LogCapture,
) -> None:
    widget, token = await _session(faulty_api, fake_n8n)
    for i in range(5):  # several kept connections, all of which the restart breaks
        assert (await faulty_api.send(widget, token, f"warm {i}", origin=ORIGIN)).status_code == 200
    fake_n8n.reply({"output": "answered"}, delay=0.3)

    async def one(i: int) -> Any:
        await asyncio.sleep(i * 0.02)
        return await faulty_api.send(widget, token, f"message {i}", origin=ORIGIN)

    sending = [asyncio.create_task(one(i)) for i in range(40)]
    await _until(lambda: len(fake_n8n.received) >= 10)  # 5 warm-ups, then the first 5 messages
    in_flight = {json.loads(r.body)["chatInput"] for r in fake_n8n.received[5:]}
    await asyncio.to_thread(faulty_postgres.restart)
    responses = await asyncio.gather(*sending)

    statuses = [r.status_code for r in responses]
    assert 500 not in statuses
    assert set(statuses) <= {200, 503}, statuses
    assert all(r.headers.get("access-control-allow-origin") == ORIGIN for r in responses)
    stored = {
        row[0] for row in faulty_api.rows("SELECT message FROM chat_logs WHERE message LIKE 'message %%'")
    }
    unstored = {r["exchange"]["message"] for r in platform_logs.named("exchange not stored")}
    called = {json.loads(r.body)["chatInput"] for r in fake_n8n.received}
    # Every message the webhook answered is in chat_logs, or (never silently) in the function's log.
    assert {m for m in called if m.startswith("message ")} <= stored | unstored
    for response in responses:
        if response.status_code == 200:
            assert faulty_api.rows("SELECT 1 FROM chat_logs WHERE id = %s", response.json()["message_id"])
    # The write survived the reconnect: exchanges in flight during the restart were stored, not
    # merely logged. (A message refused with 503 before its webhook was called was never accepted.)
    assert in_flight <= stored, (sorted(in_flight - stored), sorted(unstored), statuses)


async def test_a_widget_deleted_while_cached_answers_404_and_is_not_relayed_again(
    faulty_api: PublicApi, fake_n8n: FakeN8n
) -> None:
    widget, token = await _session(faulty_api, fake_n8n)
    assert (await faulty_api.send(widget, token, "hello", origin=ORIGIN)).status_code == 200
    faulty_api.rows("DELETE FROM widgets WHERE id = %s RETURNING id", widget.id)
    gone = await faulty_api.send(widget, token, "still there?", origin=ORIGIN)
    assert gone.status_code == 404, gone.text
    assert gone.json()["error"]["code"] == "widget_not_found"
    calls = len(fake_n8n.received)
    again = await faulty_api.send(widget, token, "hello?", origin=ORIGIN)
    assert again.status_code == 404
    assert len(fake_n8n.received) == calls  # known to be gone: the webhook is not called


async def test_database_operations_are_bounded_when_the_server_stalls(
    faulty_postgres: FaultyPostgres,
) -> None:
    db = Database(faulty_postgres.url, operation_timeout=1.0)

    async def select_one(conn: Any) -> Any:
        return await (await conn.execute("SELECT 1 AS one")).fetchone()

    try:
        assert await db.run(select_one) == {"one": 1}
        pids = faulty_postgres.pause()
        try:
            started = time.monotonic()
            with pytest.raises(DatabaseUnavailableError):
                await db.run(select_one)  # on the kept connection
            with pytest.raises(DatabaseUnavailableError):
                await db.run(select_one)  # a new connection: the handshake stalls
            elapsed = time.monotonic() - started
        finally:
            faulty_postgres.resume(pids)
        assert elapsed < 4
        assert await db.run(select_one) == {"one": 1}
    finally:
        await db.close()
