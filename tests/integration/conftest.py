"""Fixtures for the public API: the widget_config and chat routers on a real database, and a fake n8n."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from shared.api.app import build_app
from shared.api.public import chat, sessions, widget_config
from shared.db import Database
from shared.models import Widget
from tests.conftest import make_settings
from tests.factories import make_widget
from tests.n8n import FakeN8n

PUBLIC_ROUTERS = [widget_config.router, sessions.router, chat.router]


@dataclass
class PublicApi:
    """The visitor-facing API of one process, with helpers that read the database directly."""

    client: httpx.AsyncClient
    app: FastAPI
    db_url: str

    async def start_session(self, widget: Widget, **headers: str) -> tuple[str, str]:
        response = await self.client.post(f"/v1/widgets/{widget.id}/sessions", headers=headers)
        assert response.status_code == 201, response.text
        body = response.json()
        return body["session_id"], body["token"]

    async def send(
        self, widget: Widget, token: str, message: Any = "Hello?", **headers: str
    ) -> httpx.Response:
        payload = message if isinstance(message, dict) else {"message": message}
        return await self.client.post(
            f"/v1/widgets/{widget.id}/messages",
            json=payload,
            headers={"Authorization": f"Bearer {token}", **headers},
        )

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(query, params).fetchall()

    def chat_logs(self) -> list[dict[str, Any]]:
        with psycopg.connect(self.db_url, row_factory=psycopg.rows.dict_row) as conn:
            return conn.execute("SELECT * FROM chat_logs ORDER BY created_at").fetchall()

    def webhook_errors(self) -> list[dict[str, Any]]:
        with psycopg.connect(self.db_url, row_factory=psycopg.rows.dict_row) as conn:
            return conn.execute("SELECT * FROM webhook_errors ORDER BY occurred_at").fetchall()


async def open_public_api(db_url: str, **settings: Any) -> tuple[FastAPI, httpx.AsyncClient]:
    app = build_app(
        title="public", routers=PUBLIC_ROUTERS, settings=make_settings(db_url, **settings), relay=True
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 50000))
    return app, httpx.AsyncClient(transport=transport, base_url="http://platform.test")


@pytest.fixture
async def api(db_url: str) -> AsyncIterator[PublicApi]:
    app, client = await open_public_api(db_url, webhook_timeout_seconds=1.0)
    async with client:
        yield PublicApi(client=client, app=app, db_url=db_url)
    await app.state.resources.aclose()


@pytest.fixture
async def widget(db: Database, fake_n8n: FakeN8n) -> Widget:
    """An active widget wired to the fake n8n, with a persona and a custom fallback."""
    created, _ = await make_widget(
        db,
        webhook_url=fake_n8n.url,
        config={
            "prompt": "You are Acme's assistant.",
            "personality": "Cheerful",
            "first_message": "Hi from Acme!",
            "fallback_message": "Acme's assistant is resting. Try again soon.",
        },
    )
    return created
