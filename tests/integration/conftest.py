"""Fixtures for the public API: the widget_config and chat routers on a real database, and a fake n8n."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
from fastapi import FastAPI

from shared.api import admin, auth
from shared.api.app import build_app
from shared.api.public import chat, sessions, widget_config
from shared.db import Database
from shared.models import Role, User, Widget
from shared.repositories import users
from shared.services.auth import hash_password
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


ADMIN_EMAIL = "admin@agency.test"
ADMIN_PASSWORD = "correct horse battery staple"


@dataclass
class OperatorApi:
    """The auth and admin APIs of one process, an admin signed in, and direct database reads."""

    client: httpx.AsyncClient
    app: FastAPI
    db_url: str
    admin: User
    admin_token: str

    @property
    def auth(self) -> dict[str, str]:
        """Headers of the signed-in admin."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    async def sign_in(self, email: str, password: str) -> str:
        response = await self.client.post("/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(query, params).fetchall()

    def count(self, table: str, where: str = "TRUE", *params: Any) -> int:
        return int(self.rows(f"SELECT count(*) FROM {table} WHERE {where}", *params)[0][0])


async def make_user(
    db: Database, *, email: str, password: str, role: Role = "admin", client_id: Any = None
) -> User:
    return await db.run(
        users.create_user, email=email, password_hash=hash_password(password), role=role, client_id=client_id
    )


@pytest.fixture
async def operator(db_url: str, db: Database) -> AsyncIterator[OperatorApi]:
    """The auth and admin routers (webhook probes on, loopback webhooks allowed) with an admin."""
    app = build_app(
        title="operator",
        routers=[auth.router, *admin.ROUTERS],
        settings=make_settings(db_url, webhook_timeout_seconds=2.0),
        relay=True,
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://platform.test") as client:
        admin_user = await make_user(db, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
        api = OperatorApi(client=client, app=app, db_url=db_url, admin=admin_user, admin_token="")
        api.admin_token = await api.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        yield api
    await app.state.resources.aclose()
