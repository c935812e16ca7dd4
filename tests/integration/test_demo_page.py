"""GET /v1/widgets/{id}/demo: an HTML page for live demos, a friendly 404 for anything else."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from shared.api.app import build_app
from shared.api.public import demo
from shared.db import Database
from tests.conftest import make_settings
from tests.factories import make_widget


@pytest.fixture
async def client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(title="demo", routers=[demo.router], settings=make_settings(db_url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://platform.test"
    ) as c:
        yield c
    await app.state.resources.aclose()


@pytest.mark.anyio
async def test_a_live_demo_page_embeds_the_widget_with_its_expiry(
    client: httpx.AsyncClient, db: Database
) -> None:
    expires = datetime(2030, 1, 2, 15, 30, tzinfo=UTC)
    widget, secret = await make_widget(
        db, is_demo=True, expires_at=expires, config={"title": "<Pizza & Co>", "prompt": "SECRET-PROMPT"}
    )
    response = await client.get(f"/v1/widgets/{widget.id}/demo")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert f'<script src="/widget.js" data-widget-id="{widget.id}" defer></script>' in html
    assert "&lt;Pizza &amp; Co&gt;" in html and "<Pizza" not in html
    assert '<time datetime="2030-01-02T15:30:00+00:00">02 January 2030, 15:30 UTC</time>' in html
    assert secret not in html and "SECRET-PROMPT" not in html and widget.webhook_url not in html
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.anyio
@pytest.mark.parametrize("case", ["unknown", "malformed", "expired", "not a demo", "inactive"])
async def test_anything_but_a_live_demo_is_a_friendly_404(
    client: httpx.AsyncClient, db: Database, case: str
) -> None:
    if case == "unknown":
        path = str(uuid.uuid4())
    elif case == "malformed":
        path = "not-an-id"
    else:
        widget, _ = await make_widget(
            db,
            is_demo=case != "not a demo",
            is_active=case != "inactive",
            expires_at=datetime.now(UTC) + timedelta(hours=-1 if case == "expired" else 1),
        )
        path = str(widget.id)
    response = await client.get(f"/v1/widgets/{path}/demo")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "This demo is not available" in response.text
