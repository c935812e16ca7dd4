"""Admin API: demo widgets. Created with a TTL and a public demo page, extended, and purged (the
expired ones, or all of them) with everything below them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shared.api.app import build_app
from shared.api.public import demo
from shared.db import Database
from tests.conftest import LogCapture, make_settings
from tests.factories import make_client, make_widget
from tests.integration.conftest import OperatorApi
from tests.integration.test_admin_widgets import add_dependent_rows, dependent_counts
from tests.n8n import FakeN8n

pytestmark = pytest.mark.anyio


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def test_a_demo_widget_expires_after_its_ttl_and_has_a_public_page(
    operator: OperatorApi, db_url: str, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a client
    client = await make_client(db)
    # When a demo widget is created for 5 hours
    before = datetime.now(UTC)
    response = await operator.client.post(
        "/v1/admin/demo-widgets",
        json={
            "client_id": str(client.id),
            "name": "Demo for Acme",
            "webhook_url": fake_n8n.url,
            "config": {"title": "Try us"},
            "ttl_hours": 5,
        },
        headers=operator.auth,
    )
    # Then it is a demo widget that expires in 5 hours, with its demo page, its secret (once) and
    # its webhook probed
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["is_demo"] is True and body["config"]["title"] == "Try us"
    expires = parse(body["expires_at"])
    assert before + timedelta(hours=5) <= expires <= datetime.now(UTC) + timedelta(hours=5)
    assert body["demo_url"] == f"http://platform.test/v1/widgets/{body['id']}/demo"
    assert body["widget_secret_masked"] == "••••" + body["widget_secret"][-4:]
    assert body["webhook_test"]["ok"] is True and len(fake_n8n.received) == 1
    # and its demo page is served there
    app = build_app(title="demo", routers=[demo.router], settings=make_settings(db_url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://platform.test"
    ) as site:
        page = await site.get(body["demo_url"])
    await app.state.resources.aclose()
    assert page.status_code == 200 and body["id"] in page.text
    # and GET shows the demo page but not the secret
    got = await operator.client.get(f"/v1/admin/widgets/{body['id']}", headers=operator.auth)
    assert got.json()["demo_url"] == body["demo_url"] and body["widget_secret"] not in got.text


async def test_the_ttl_defaults_to_72_hours_and_is_bounded(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    client = await make_client(db)
    base = {"client_id": str(client.id), "webhook_url": fake_n8n.url}
    default = await operator.client.post(
        "/v1/admin/demo-widgets", json={**base, "name": "D"}, headers=operator.auth
    )
    assert default.status_code == 201
    assert abs(parse(default.json()["expires_at"]) - (datetime.now(UTC) + timedelta(hours=72))) < timedelta(
        minutes=1
    )
    for ttl in (0, 721, "soon"):
        refused = await operator.client.post(
            "/v1/admin/demo-widgets",
            json={**base, "name": f"D{ttl}", "ttl_hours": ttl},
            headers=operator.auth,
        )
        assert refused.status_code == 422, ttl
        assert ["body", "ttl_hours"] in [d["loc"] for d in refused.json()["error"]["details"]]
    unknown = await operator.client.post(
        "/v1/admin/demo-widgets", json={**base, "name": "E", "config": {"tittle": "x"}}, headers=operator.auth
    )
    assert unknown.status_code == 422 and "tittle" in unknown.json()["error"]["message"]


async def test_a_demo_is_extended_with_ttl_hours_or_expires_at(operator: OperatorApi, db: Database) -> None:
    # Given a demo widget about to expire, and a regular widget
    demo, _ = await make_widget(db, is_demo=True, expires_at=datetime.now(UTC) + timedelta(minutes=5))
    regular, _ = await make_widget(db)
    path = f"/v1/admin/widgets/{demo.id}"
    # When it is extended by 48 hours from now
    extended = await operator.client.patch(path, json={"ttl_hours": 48}, headers=operator.auth)
    # Then it expires 48 hours from now
    assert extended.status_code == 200, extended.text
    expected = datetime.now(UTC) + timedelta(hours=48)
    assert abs(parse(extended.json()["expires_at"]) - expected) < timedelta(minutes=1)
    # And a given time works too
    until = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    moved = await operator.client.patch(path, json={"expires_at": until.isoformat()}, headers=operator.auth)
    assert moved.status_code == 200 and parse(moved.json()["expires_at"]) == until
    # But a demo cannot lose its expiry, nor get both at once, nor a ttl over 720 hours
    for body in ({"expires_at": None}, {"ttl_hours": 1, "expires_at": until.isoformat()}, {"ttl_hours": 721}):
        refused = await operator.client.patch(path, json=body, headers=operator.auth)
        assert refused.status_code == 422, (body, refused.text)
    assert operator.rows("SELECT expires_at FROM widgets WHERE id = %s", demo.id) == [(until,)]
    # And a regular widget has no ttl (but may be given an expiry)
    no_ttl = await operator.client.patch(
        f"/v1/admin/widgets/{regular.id}", json={"ttl_hours": 5}, headers=operator.auth
    )
    assert no_ttl.status_code == 422
    assert no_ttl.json()["error"]["details"][0]["loc"] == ["body", "ttl_hours"]
    expiring = await operator.client.patch(
        f"/v1/admin/widgets/{regular.id}", json={"expires_at": until.isoformat()}, headers=operator.auth
    )
    assert expiring.status_code == 200 and expiring.json()["is_demo"] is False


async def make_demos(operator: OperatorApi, db: Database) -> dict[str, Any]:
    now = datetime.now(UTC)
    expired, _ = await make_widget(db, is_demo=True, expires_at=now - timedelta(hours=1))
    also_expired, _ = await make_widget(db, is_demo=True, expires_at=now - timedelta(days=3))
    live, _ = await make_widget(db, is_demo=True, expires_at=now + timedelta(hours=1))
    regular, _ = await make_widget(db, expires_at=now - timedelta(hours=1))  # expired, but not a demo
    for widget in (expired, also_expired, live, regular):
        add_dependent_rows(operator, widget.id)
    return {"expired": expired, "also_expired": also_expired, "live": live, "regular": regular}


async def test_purge_deletes_expired_demos_with_their_rows(
    operator: OperatorApi, db: Database, platform_logs: LogCapture
) -> None:
    # Given expired and live demo widgets and an expired regular widget, each with rows
    widgets = await make_demos(operator, db)
    # When the expired demos are purged (the default)
    response = await operator.client.post("/v1/admin/demo-widgets/purge", json={}, headers=operator.auth)
    # Then exactly the two expired demos went, with their rows
    assert response.status_code == 200, response.text
    assert response.json() == {
        "clients": 0,
        "widgets": 2,
        "chat_logs": 4,
        "analytics": 2,
        "webhook_errors": 2,
        "users": 0,
    }
    remaining = {row[0] for row in operator.rows("SELECT id FROM widgets")}
    assert remaining == {widgets["live"].id, widgets["regular"].id}
    for kept in ("live", "regular"):
        assert dependent_counts(operator, widgets[kept].id) == (2, 1, 1)
    [line] = [line for line in platform_logs.named("audit") if line["action"] == "demo.purge"]
    assert line["widgets"] == 2 and line["chat_logs"] == 4
    # and purging again finds nothing (a request without a body purges the expired ones too)
    again = await operator.client.post("/v1/admin/demo-widgets/purge", headers=operator.auth)
    assert again.status_code == 200 and again.json()["widgets"] == 0


async def test_purge_of_every_demo_keeps_regular_widgets(operator: OperatorApi, db: Database) -> None:
    widgets = await make_demos(operator, db)
    response = await operator.client.post(
        "/v1/admin/demo-widgets/purge", json={"expired_only": False}, headers=operator.auth
    )
    assert response.status_code == 200
    assert response.json()["widgets"] == 3 and response.json()["chat_logs"] == 6
    assert [row[0] for row in operator.rows("SELECT id FROM widgets")] == [widgets["regular"].id]
    assert dependent_counts(operator, widgets["regular"].id) == (2, 1, 1)
