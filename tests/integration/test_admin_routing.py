"""The admin function's start-up defers what most requests never use: FastAPI analyses the admin
routes only when first needed (`shared.api.admin.routing`) and the webhook caller is made when a
route first probes a webhook. Building the app and its OpenAPI document analyses no route, the
document is the one FastAPI makes of the same routes analysed at once, what a route sets at once is
what FastAPI's analysis sets, and the routes (a probe too) serve through the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from fastapi.routing import APIRoute

from shared.api import admin, auth
from shared.api.admin.routing import PLAIN_ATTRIBUTES, DeferredRoute
from shared.api.app import build_app
from shared.db import Database
from tests.conftest import make_settings
from tests.factories import make_client
from tests.integration.conftest import OperatorApi, make_user
from tests.n8n import FakeN8n

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]


def _admin_routes() -> list[DeferredRoute]:
    routes = [route for router in admin.ROUTERS for route in router.routes]
    assert routes and all(isinstance(route, DeferredRoute) for route in routes)
    return [route for route in routes if isinstance(route, DeferredRoute)]


def _routers(route_class: type[APIRoute]) -> list[APIRouter]:
    """The admin routers made again, their routes of `route_class` (fresh: none analysed yet)."""
    copies = []
    for router in admin.ROUTERS:
        copy = APIRouter()
        for route in router.routes:
            assert isinstance(route, DeferredRoute)
            path, endpoint, options = route.arguments
            copy.routes.append(route_class(path, endpoint, **options))
        copies.append(copy)
    return copies


def _openapi(routers: list[APIRouter]) -> dict[str, Any]:
    settings = make_settings("postgresql://openapi@localhost/none")
    document: dict[str, Any] = build_app(title="admin", routers=routers, settings=settings).openapi()
    return document


def test_building_the_app_and_its_openapi_analyses_no_route_and_documents_them_as_fastapi_does() -> None:
    deferred = _routers(DeferredRoute)
    document = _openapi(deferred)
    assert "/v1/admin/widgets" in document["paths"]
    assert [
        r.path for router in deferred for r in router.routes if isinstance(r, DeferredRoute) and r.analysed
    ] == []
    assert document == _openapi(_routers(APIRoute))


def test_a_deferred_route_sets_what_fastapis_analysis_sets() -> None:
    for route in _admin_routes():
        path, endpoint, options = route.arguments
        deferred, analysed = DeferredRoute(path, endpoint, **options), APIRoute(path, endpoint, **options)
        assert not deferred.analysed
        for attribute in PLAIN_ATTRIBUTES:
            assert getattr(deferred, attribute) == getattr(analysed, attribute), (route.path, attribute)


def test_a_route_asked_for_a_result_of_its_analysis_runs_it_once() -> None:
    path, endpoint, options = _admin_routes()[0].arguments
    route = DeferredRoute(path, endpoint, **options)
    dependant = route.dependant
    assert route.analysed
    assert route.dependant is dependant and route.response_field is not None
    with pytest.raises(AttributeError):
        route.not_an_attribute  # noqa: B018


async def test_the_admin_routes_serve_through_the_app(operator: OperatorApi) -> None:
    response = await operator.client.get("/v1/admin/widgets", params={"limit": 1}, headers=operator.auth)
    assert response.status_code == 200, response.text
    assert set(response.json()) == {"items", "total", "limit", "offset"}


async def test_the_webhook_caller_is_made_when_a_route_first_probes(
    db_url: str, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given the admin app as the admin function builds it
    app = build_app(
        title="admin",
        routers=[auth.router, *admin.ROUTERS],
        settings=make_settings(db_url, webhook_timeout_seconds=2.0),
        relay_on_first_use=True,
    )
    resources = app.state.resources
    client = await make_client(db, name="Acme")
    await make_user(db, email="lazy@agency.test", password="a long password 1")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://platform.test") as http:
        login = await http.post(
            "/v1/auth/login", json={"email": "lazy@agency.test", "password": "a long password 1"}
        )
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        # When it lists widgets, no webhook caller exists yet
        listed = await http.get("/v1/admin/widgets", headers=headers)
        assert listed.status_code == 200, listed.text
        assert resources.webhooks is None

        # and when a widget is created, its webhook is probed through a caller made then, and kept
        body = {"client_id": str(client.id), "name": "Support", "webhook_url": fake_n8n.url}
        created = await http.post("/v1/admin/widgets", json=body, headers=headers)
        assert created.status_code == 201, created.text
        assert created.json()["webhook_test"]["ok"] is True
        caller = resources.webhooks
        assert caller is not None and resources.relay is caller
    await resources.aclose()


def test_the_admin_function_starts_without_the_webhook_client() -> None:
    env = {**os.environ, "DATABASE_URL": "postgresql://u@localhost/db", "ENVIRONMENT": "development"}
    probe = (
        "import sys, functions.admin.handler as m; "
        "print(sorted(n for n in sys.modules if n in {'h11', 'shared.webhook_client', 'shared.services.relay'})); "
        "print(callable(m.handler))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[]", "True"], result.stderr
