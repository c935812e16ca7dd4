"""Every admin route, read from the app itself, refuses everyone but a signed-in admin; the auth
routes other than login need a token. A route added later cannot be missed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from shared import tokens
from shared.db import Database
from shared.services.auth import LOGIN_AUDIENCE
from tests.factories import make_client
from tests.integration.conftest import OperatorApi, make_user

pytestmark = pytest.mark.anyio
KEY = b"test-signing-key-" + b"x" * 32  # make_settings' signing key


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    """Every API route, including those of included routers (FastAPI keeps an included router as
    one entry holding its `original_router`)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


def _routes(operator: OperatorApi, prefix: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for route in _api_routes(operator.app.routes):
        if route.path.startswith(prefix):
            path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
            found.extend((method, path) for method in sorted(route.methods or ()) if method != "HEAD")
    # Cross-check: the app's own OpenAPI document lists no operation the walk missed.
    documented = {
        (method.upper(), path)
        for path, item in operator.app.openapi()["paths"].items()
        for method in item
        if path.startswith(prefix)
    }
    walked = {
        (m, r.path)
        for r in _api_routes(operator.app.routes)
        for m in (r.methods or ())
        if r.path.startswith(prefix)
    }
    assert documented <= walked, documented - walked
    return found


def _token(claims: dict[str, object], key: bytes = KEY) -> str:
    now = int(datetime.now(UTC).timestamp())
    return tokens.sign({"aud": LOGIN_AUDIENCE, "iat": now, "exp": now + 3600, "ver": 0, **claims}, key)


async def _refusals(operator: OperatorApi, db: Database) -> dict[str, dict[str, str]]:
    client = await make_client(db)
    viewer = await make_user(
        db, email="viewer@client.test", password="viewer password 1", role="client", client_id=client.id
    )
    viewer_token = await operator.sign_in("viewer@client.test", "viewer password 1")
    doomed = await make_user(db, email="gone@agency.test", password="doomed password 1")
    doomed_token = await operator.sign_in("gone@agency.test", "doomed password 1")
    operator.rows("DELETE FROM users WHERE id = %s RETURNING id", doomed.id)
    admin = str(operator.admin.id)
    expired_at = int((datetime.now(UTC) - timedelta(hours=2)).timestamp())
    return {
        "no token": {},
        "not a bearer token": {"Authorization": f"Basic {operator.admin_token}"},
        "garbage": {"Authorization": "Bearer not.a.token"},
        "expired": {
            "Authorization": "Bearer "
            + tokens.sign(
                {"aud": LOGIN_AUDIENCE, "sub": admin, "role": "admin", "ver": 0, "exp": expired_at}, KEY
            )
        },
        "another key": {"Authorization": f"Bearer {_token({'sub': admin, 'role': 'admin'}, b'k' * 48)}"},
        "a visitor session token": {
            "Authorization": "Bearer "
            + tokens.sign({"aud": "widget-session", "sub": admin, "exp": 2**40}, KEY)
        },
        "deleted user": {"Authorization": f"Bearer {doomed_token}"},
        "client viewer": {"Authorization": f"Bearer {viewer_token}"},
        "viewer claiming admin": {
            "Authorization": f"Bearer {_token({'sub': str(viewer.id), 'role': 'admin', 'client_id': None})}"
        },
    }


async def test_every_admin_route_refuses_everyone_but_an_admin(operator: OperatorApi, db: Database) -> None:
    routes = _routes(operator, "/v1/admin")
    assert len(routes) >= 20, routes  # the whole admin API is there
    for name, headers in (await _refusals(operator, db)).items():
        for method, path in routes:
            response = await operator.client.request(method, path, headers=headers, json={})
            assert response.status_code in (401, 403), (
                name,
                method,
                path,
                response.status_code,
                response.text,
            )
            assert response.json()["error"]["code"], (name, method, path)


async def test_auth_routes_other_than_login_need_a_token(operator: OperatorApi) -> None:
    routes = [(m, p) for m, p in _routes(operator, "/v1/auth") if p != "/v1/auth/login"]
    assert routes
    for method, path in routes:
        response = await operator.client.request(method, path, json={})
        assert response.status_code == 401, (method, path, response.text)
