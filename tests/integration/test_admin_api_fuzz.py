"""Schemathesis over the admin and auth APIs with an admin token: no 5xx, the error envelope on every
4xx, and every documented response matching its schema.

The app runs under uvicorn against a real Postgres holding a client, a widget whose webhook is a
local server answering like n8n, a client viewer and a chat log, and generated requests are aimed at
those ids most of the time (else at made-up ones), so the happy paths run too. Bounded: FUZZ_EXAMPLES
(default 12) examples per operation, derandomized.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import Case

from shared.api import admin, auth
from shared.api.app import build_app
from shared.db import Database
from tests.conftest import make_settings
from tests.factories import make_client, make_widget
from tests.fuzz import CHECKS, assert_error_envelope, bounded, case_seed, sign_in
from tests.integration.conftest import make_user
from tests.live import LiveServer
from tests.n8n import FakeN8n

EXAMPLES_PER_OPERATION = 12
ADMIN = ("fuzz-admin@agency.test", "fuzz admin password 1")
VIEWER = ("fuzz-viewer@client.test", "fuzz viewer password 1")


def operator_app(database_url: str) -> FastAPI:
    return build_app(
        title="operator",
        routers=[auth.router, *admin.ROUTERS],
        settings=make_settings(database_url, webhook_timeout_seconds=2.0),
        relay=True,
    )


SCHEMA = schemathesis.openapi.from_dict(operator_app("postgresql://schema-only.invalid/none").openapi())


@dataclass(frozen=True)
class LiveOperatorApi:
    base_url: str
    ids: dict[str, str]  # path parameter name -> a real id
    admin_token: str
    viewer_token: str


async def _seed(database_url: str, webhook_url: str) -> dict[str, str]:
    db = Database(database_url)
    try:
        client = await make_client(db)
        widget, _ = await make_widget(db, client=client, webhook_url=webhook_url)
        await make_user(db, email=ADMIN[0], password=ADMIN[1])
        viewer = await make_user(db, email=VIEWER[0], password=VIEWER[1], role="client", client_id=client.id)
    finally:
        await db.close()
    return {
        "client_id": str(client.id),
        "widget_id": str(widget.id),
        "user_id": str(viewer.id),  # never the admin: a fuzzed password change would end the run
        "session_id": "f" * 32,
    }


@pytest.fixture
def live_operator(db_url: str, fake_n8n: FakeN8n) -> Iterator[LiveOperatorApi]:
    ids = asyncio.run(_seed(db_url, fake_n8n.url))
    with LiveServer(operator_app(db_url)) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        tokens = sign_in(http, ADMIN, VIEWER)
        yield LiveOperatorApi(base_url, ids, tokens[0], tokens[1])


def aim(case: Case[Any], live: LiveOperatorApi) -> None:
    """Real ids and the admin's token most of the time, derived from the case itself (so a replayed
    or shrunk case is aimed the same way)."""
    seed = case_seed(case)
    if case.path_parameters is None:
        case.path_parameters = {}
    for name in list(case.path_parameters):
        if name in live.ids and seed % 4:
            case.path_parameters[name] = live.ids[name]
        seed //= 4
    if isinstance(case.body, dict):
        for name in ("client_id", "widget_id"):
            if name in case.body and seed % 3:
                case.body[name] = live.ids[name]
            seed //= 3
    if case.headers is None:
        case.headers = {}
    if case.operation.path != "/v1/auth/login":
        choice = seed % 10
        token = live.viewer_token if choice == 0 else live.admin_token
        case.headers["Authorization"] = f"Bearer {token}"


@SCHEMA.parametrize()
@bounded(EXAMPLES_PER_OPERATION)
def test_admin_and_auth_routes_never_fail_on_our_side(
    case: Case[Any], live_operator: LiveOperatorApi
) -> None:
    # Given a generated request, aimed mostly at real ids with the admin's token
    aim(case, live_operator)
    # When it is sent to the running app
    response = case.call_and_validate(base_url=live_operator.base_url, checks=CHECKS, timeout=15)
    # Then no server error, the documented schema, and the error envelope on every 4xx
    assert_error_envelope(response)
