"""GET /v1/widgets/{id}/config: public fields only, cacheable, 404 for anything unavailable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from shared.api.app import build_app
from shared.api.public import widget_config
from shared.db import Database
from tests.conftest import make_settings
from tests.factories import make_widget

PRIVATE_CONFIG = {
    "prompt": "SECRET-PROMPT",
    "personality": "SECRET-PERSONALITY",
    "fallback_message": "SECRET-FALLBACK",
    "allowed_origins": ["https://shop.example"],
    "rate_limit": {"per_session_per_minute": 7},
}


async def api(db_url: str, **settings: Any) -> httpx.AsyncClient:
    app = build_app(
        title="widget_config", routers=[widget_config.router], settings=make_settings(db_url, **settings)
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://platform.test")


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with await api(db_url) as c:
        yield c


@pytest.mark.anyio
async def test_config_returns_only_public_fields(client: httpx.AsyncClient, db: Database) -> None:
    # Given a widget with private settings and a webhook
    widget, secret = await make_widget(
        db,
        config={"title": "Acme help", "starter_prompts": ["Hours?"], **PRIVATE_CONFIG},
        webhook_url="https://n8n.example/webhook/SECRET-HOOK",
    )
    # When a page of an allowed origin asks for its config
    response = await client.get(f"/v1/widgets/{widget.id}/config", headers={"Origin": "https://shop.example"})
    # Then it gets the public fields, and nothing private appears anywhere in the answer
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Acme help" and body["starter_prompts"] == ["Hours?"]
    assert set(body) == {
        "id",
        "name",
        "title",
        "subtitle",
        "welcome_message",
        "first_message",
        "starter_prompts",
        "placeholder",
        "avatar_url",
        "launcher_icon",
        "position",
        "theme",
        "strings",
        "locale",
        "direction",
        "is_demo",
        "demo_expires_at",
    }
    for private in ("SECRET", secret, "webhook", "allowed_origins", "rate_limit"):
        assert private not in response.text
    assert response.headers["access-control-allow-origin"] == "https://shop.example"


@pytest.mark.anyio
async def test_config_is_cacheable_with_an_etag(client: httpx.AsyncClient, db: Database) -> None:
    widget, _ = await make_widget(db)
    first = await client.get(f"/v1/widgets/{widget.id}/config")
    again = await client.get(
        f"/v1/widgets/{widget.id}/config", headers={"If-None-Match": first.headers["etag"]}
    )
    assert first.headers["cache-control"].startswith("public")
    assert again.status_code == 304 and again.content == b""


@pytest.mark.anyio
@pytest.mark.parametrize("state", ["unknown", "inactive", "expired demo", "expired widget"])
async def test_unavailable_widgets_answer_404(client: httpx.AsyncClient, db: Database, state: str) -> None:
    past = datetime.now(UTC) - timedelta(minutes=1)
    if state == "unknown":
        widget_id = uuid.uuid4()
    else:
        widget, _ = await make_widget(
            db,
            is_active=state != "inactive",
            is_demo=state == "expired demo",
            expires_at=past if state.startswith("expired") else None,
        )
        widget_id = widget.id
    response = await client.get(f"/v1/widgets/{widget_id}/config")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "widget_not_found"


@pytest.mark.anyio
async def test_a_live_demo_shows_its_expiry(client: httpx.AsyncClient, db: Database) -> None:
    expires = datetime.now(UTC) + timedelta(hours=2)
    widget, _ = await make_widget(db, is_demo=True, expires_at=expires)
    body = (await client.get(f"/v1/widgets/{widget.id}/config")).json()
    assert body["is_demo"] is True
    assert datetime.fromisoformat(body["demo_expires_at"]) == expires


@pytest.mark.anyio
@pytest.mark.parametrize("bad_id", ["nope", "1234", "00000000-0000-0000-0000-00000000000g", "%00"])
async def test_malformed_ids_are_a_clear_4xx(client: httpx.AsyncClient, bad_id: str) -> None:
    response = await client.get(f"/v1/widgets/{bad_id}/config")
    assert response.status_code in (404, 422)
    assert set(response.json()["error"]) >= {"code", "message"}


@pytest.mark.anyio
async def test_other_origins_are_refused_without_cors(client: httpx.AsyncClient, db: Database) -> None:
    widget, _ = await make_widget(db, config={"allowed_origins": ["https://shop.example"]})
    refused = await client.get(f"/v1/widgets/{widget.id}/config", headers={"Origin": "https://evil.example"})
    own = await client.get(f"/v1/widgets/{widget.id}/config", headers={"Origin": "http://platform.test"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in refused.headers
    assert own.status_code == 200  # the platform's own demo pages always may


@pytest.mark.anyio
async def test_unknown_routes_and_methods_use_the_error_envelope(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/nothing-here")
    wrong = await client.delete(f"/v1/widgets/{uuid.uuid4()}/config")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert wrong.status_code == 405 and wrong.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.anyio
async def test_request_ids_are_echoed_or_made(client: httpx.AsyncClient) -> None:
    given = await client.get("/v1/nothing", headers={"X-Request-Id": "abc-123"})
    made = await client.get("/v1/nothing", headers={"X-Request-Id": "not valid <script>"})
    assert given.headers["x-request-id"] == "abc-123"
    assert len(made.headers["x-request-id"]) == 32


@pytest.mark.anyio
async def test_widget_changes_are_live_within_the_cache_time(db_url: str, db: Database) -> None:
    # Given a process that caches widgets for 30 s and has served one
    widget, _ = await make_widget(db, config={"title": "Old"})
    async with await api(db_url, widget_cache_seconds=30) as cached, await api(db_url) as uncached:
        assert (await cached.get(f"/v1/widgets/{widget.id}/config")).json()["title"] == "Old"
        # When an admin deactivates it
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("UPDATE widgets SET is_active = false WHERE id = %s", [widget.id])
        # Then the caching process still answers from its copy, and a fresh read sees the change
        assert (await cached.get(f"/v1/widgets/{widget.id}/config")).status_code == 200
        assert (await uncached.get(f"/v1/widgets/{widget.id}/config")).status_code == 404
