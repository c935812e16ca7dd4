"""Per-address limits on every public route that costs work: who counts as one address (IPv4, an
IPv6 /64, never a made-up header value), what each route allows, and that counters do not pile up."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from scripts.bench.harness import free_port
from scripts.dev import start_in_background
from shared.db import Database
from shared.models import Widget
from shared.repositories import rate_limits as rate_limit_rows
from shared.services import rate_limits
from tests.factories import make_widget
from tests.integration.conftest import PublicApi, open_public_api
from tests.n8n import FakeN8n

CLOUDFRONT = "CloudFront-Viewer-Address"
SHOP = "https://shop.example"


@pytest.fixture
async def cloudfront_api(db_url: str) -> AsyncIterator[PublicApi]:
    """The public API as deployed behind CloudFront: the visitor's address is in CloudFront-Viewer-Address."""
    app, client = await open_public_api(
        db_url, webhook_timeout_seconds=1.0, client_ip_header=CLOUDFRONT.lower()
    )
    async with client:
        yield PublicApi(client=client, app=app, db_url=db_url)
    await app.state.resources.aclose()


async def limited_widget(db: Database, fake_n8n: FakeN8n, **limits: int) -> Widget:
    widget, _ = await make_widget(
        db, webhook_url=fake_n8n.url, config={"rate_limit": limits, "allowed_origins": [SHOP]}
    )
    return widget


async def start(api: PublicApi, widget: Widget, address: str | None = None, **json: Any) -> httpx.Response:
    headers = {"Origin": SHOP} | ({CLOUDFRONT: address} if address is not None else {})
    return await api.client.post(f"/v1/widgets/{widget.id}/sessions", json=json, headers=headers)


def assert_limited(response: httpx.Response) -> None:
    """A 429 the widget can read: the envelope, Retry-After within the window, and CORS."""
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response.headers["retry-after"]) <= rate_limits.WINDOW_SECONDS
    assert response.headers["access-control-allow-origin"] == SHOP
    assert "Retry-After" in response.headers["access-control-expose-headers"]


@pytest.mark.anyio
async def test_addresses_of_one_ipv6_64_are_one_visitor(
    cloudfront_api: PublicApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget allowing 3 messages a minute per address, and sessions from other networks
    widget = await limited_widget(db, fake_n8n, per_ip_per_minute=3)
    tokens = [
        (await start(cloudfront_api, widget, f"2001:db8:0:{100 + i}::1:443")).json()["token"]
        for i in range(5)
    ]
    # When one visitor rotates through addresses (and ports) of its /64, as CloudFront writes them
    rotating = [f"2001:db8::{i}:{40000 + i}" for i in range(1, 5)]
    statuses = [
        (await cloudfront_api.send(widget, token, **{CLOUDFRONT: address, "Origin": SHOP})).status_code
        for token, address in zip(tokens, rotating, strict=False)
    ]
    # Then the fourth message is over that one address's limit, while the next /64 may still talk
    assert statuses == [200, 200, 200, 429]
    other_64 = await cloudfront_api.send(widget, tokens[4], **{CLOUDFRONT: "2001:db8:0:1::1:443"})
    assert other_64.status_code == 200, other_64.text
    assert len(cloudfront_api.chat_logs()) == 4


@pytest.mark.anyio
async def test_ipv4_ports_and_mapped_forms_are_one_address(
    cloudfront_api: PublicApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget allowing 3 session starts a minute per address
    widget = await limited_widget(db, fake_n8n, per_ip_sessions_per_minute=3)
    # When one IPv4 visitor writes its address with other ports, bracketed or IPv4-mapped
    forms = ["198.51.100.7:1111", "198.51.100.7:2222", "::ffff:198.51.100.7:3333", "[::ffff:198.51.100.7]:4"]
    responses = [await start(cloudfront_api, widget, form) for form in forms]
    # Then they all count as the one address
    assert [r.status_code for r in responses[:3]] == [201, 201, 201]
    assert_limited(responses[3])
    assert (await start(cloudfront_api, widget, "198.51.100.8:1111")).status_code == 201


@pytest.mark.anyio
@pytest.mark.parametrize(
    "values",
    [
        ["garbage", "unknown", "not-an-ip:80", "999.1.1.1:80"],  # made-up buckets
        ["2001:db8:", "2001:db8::1::2", "[2001:db8::1]:x", "1.2.3.4:99999"],  # the old parser's shapes
    ],
)
async def test_values_that_are_not_addresses_neither_name_nor_dodge_a_bucket(
    cloudfront_api: PublicApi, db: Database, fake_n8n: FakeN8n, values: list[str]
) -> None:
    # Given a widget allowing 3 session starts a minute per address, and a visitor at 192.0.2.50
    widget = await limited_widget(db, fake_n8n, per_ip_sessions_per_minute=3)
    # When someone rotates header values that are not addresses
    responses = [await start(cloudfront_api, widget, value) for value in values]
    # Then each counts against the connection's own address, so rotating them escapes nothing
    assert [r.status_code for r in responses[:3]] == [201, 201, 201]
    assert_limited(responses[3])
    assert_limited(await start(cloudfront_api, widget))  # the peer's own bucket, no header at all
    # and no visitor's bucket was touched by them
    assert (await start(cloudfront_api, widget, "192.0.2.50:443")).status_code == 201


@pytest.mark.anyio
async def test_session_starts_and_renewals_are_limited_per_address(
    api: PublicApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget allowing 2 session starts or renewals a minute per address
    widget = await limited_widget(db, fake_n8n, per_ip_sessions_per_minute=2)
    # When one address starts a session, renews it, and starts another
    first = await start(api, widget)
    renewed = await start(api, widget, session_id=first.json()["session_id"], token=first.json()["token"])
    third = await start(api, widget)
    # Then the third is refused with Retry-After, readable by the widget's page
    assert (first.status_code, renewed.status_code) == (201, 200)
    assert_limited(third)
    # and another widget's sessions are counted apart
    other = await limited_widget(db, fake_n8n, per_ip_sessions_per_minute=2)
    assert (await start(api, other)).status_code == 201


@pytest.mark.anyio
async def test_history_reads_are_limited_per_address_bad_tokens_included(
    api: PublicApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget allowing 3 history reads a minute per address
    widget = await limited_widget(db, fake_n8n, per_ip_reads_per_minute=3)
    token = (await start(api, widget)).json()["token"]
    url = f"/v1/widgets/{widget.id}/messages"
    # When the address reads twice, tries a forged token once, and reads again
    reads = [
        await api.client.get(url, headers={"Authorization": f"Bearer {t}", "Origin": SHOP})
        for t in (token, token, "v1.forged.token", token)
    ]
    # Then the forged attempt counted too, and the fourth read is refused
    assert [r.status_code for r in reads[:3]] == [200, 200, 401]
    assert_limited(reads[3])
    assert fake_n8n.received == []


@pytest.mark.anyio
async def test_feedback_is_limited_per_address(api: PublicApi, db: Database, fake_n8n: FakeN8n) -> None:
    # Given a widget allowing 2 feedbacks a minute per address, and one answered message
    widget = await limited_widget(db, fake_n8n, per_ip_feedback_per_minute=2)
    token = (await start(api, widget)).json()["token"]
    sent = await api.send(widget, token)
    assert sent.status_code == 200, sent.text
    url = f"/v1/widgets/{widget.id}/messages/{sent.json()['message_id']}/feedback"
    headers = {"Authorization": f"Bearer {token}", "Origin": SHOP}
    # When the visitor clicks thumbs up and down three times
    clicks = [await api.client.post(url, json={"value": v}, headers=headers) for v in ("up", "down", "up")]
    # Then the third click is refused and the second one stands
    assert [c.status_code for c in clicks[:2]] == [200, 200]
    assert_limited(clicks[2])
    assert [log["feedback"] for log in api.chat_logs()] == ["down"]


@pytest.mark.anyio
async def test_the_default_limits_bound_every_route(api: PublicApi, db: Database, fake_n8n: FakeN8n) -> None:
    # Given a widget with the default limits
    widget, _ = await make_widget(db, webhook_url=fake_n8n.url)
    limits = widget.config.rate_limit
    # When one address starts sessions as fast as it can
    statuses = [
        (await api.client.post(f"/v1/widgets/{widget.id}/sessions")).status_code
        for _ in range(limits.per_ip_sessions_per_minute + 1)
    ]
    # Then it is stopped at the default
    assert statuses.count(201) == limits.per_ip_sessions_per_minute and statuses[-1] == 429


def insert_counters(db_url: str, keys: list[str], *, age_seconds: int) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO rate_limits (key, window_start, count) "
            "SELECT k, now() - make_interval(secs => %s), 5 FROM unnest(%s::text[]) AS k",
            (age_seconds, keys),
        )


def counter_keys(db_url: str) -> set[str]:
    with psycopg.connect(db_url) as conn:
        return {row[0] for row in conn.execute("SELECT key FROM rate_limits").fetchall()}


@pytest.mark.anyio
async def test_delete_expired_removes_only_ended_windows_in_batches(db_url: str, db: Database) -> None:
    # Given five counters whose window ended minutes ago and two still counting
    dead = [f"session:ip:w:198.51.100.{i}" for i in range(5)]
    live = ["session:ip:w:192.0.2.1", "message:session:w:s"]
    insert_counters(db_url, dead, age_seconds=300)
    insert_counters(db_url, live, age_seconds=10)
    # When the purge deletes expired counters three at a time
    first = await db.run(rate_limit_rows.delete_expired, limit=3)
    second = await db.run(rate_limit_rows.delete_expired, limit=3)
    third = await db.run(rate_limit_rows.delete_expired, limit=3)
    # Then every dead counter is gone and the live ones are kept
    assert (first, second, third) == (3, 2, 0)
    assert counter_keys(db_url) == set(live)


@pytest.mark.anyio
async def test_counters_of_ended_windows_are_deleted_as_requests_come_in(
    api: PublicApi, db: Database, db_url: str, fake_n8n: FakeN8n
) -> None:
    # Given counters left by yesterday's visitors (one per address and session, as an attack leaves)
    dead = [f"message:session:old-widget:{i:032x}" for i in range(300)]
    insert_counters(db_url, dead, age_seconds=86_400)
    widget = await limited_widget(db, fake_n8n, per_ip_sessions_per_minute=1000)
    # When today's requests arrive
    for _ in range(rate_limits.SWEEP_EVERY):
        assert (await start(api, widget)).status_code == 201
    # Then the dead counters were deleted on the way, and today's counter is kept
    assert counter_keys(db_url) == {f"session:ip:{widget.id}:203.0.113.7"}


@pytest.mark.anyio
async def test_a_counter_whose_window_ended_starts_again_at_one(
    api: PublicApi, db: Database, db_url: str, fake_n8n: FakeN8n
) -> None:
    # Given an address that used up its limit in a window that has since ended
    widget = await limited_widget(db, fake_n8n, per_ip_sessions_per_minute=1)
    insert_counters(db_url, [f"session:ip:{widget.id}:203.0.113.7"], age_seconds=120)
    # When it starts a session now
    response = await start(api, widget)
    # Then the new window counts from one
    assert response.status_code == 201, response.text


def test_the_dev_runner_does_not_trust_x_forwarded_for(db_url: str, tmp_path: Path) -> None:
    # Given the dev runner serving a widget that allows 2 session starts a minute per address
    import asyncio

    async def make() -> Widget:
        database = Database(db_url)
        try:
            widget, _ = await make_widget(database, config={"rate_limit": {"per_ip_sessions_per_minute": 2}})
            return widget
        finally:
            await database.close()

    widget = asyncio.run(make())
    port = free_port()
    log = tmp_path / "dev.log"
    proc = start_in_background(database_url=db_url, port=port, log_path=log)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                httpx.get(f"{base}/v1/widgets/{widget.id}/config", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        # When one client rotates X-Forwarded-For (and Forwarded) from loopback
        statuses = [
            httpx.post(
                f"{base}/v1/widgets/{widget.id}/sessions",
                headers={"X-Forwarded-For": f"198.51.100.{i}", "Forwarded": f"for=198.51.100.{i}"},
                timeout=10,
            ).status_code
            for i in range(3)
        ]
        # Then it is still one address: the third start is refused
        assert statuses == [201, 201, 429], log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
