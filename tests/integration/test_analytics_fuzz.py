"""Schemathesis over the analytics API with admin and client-viewer tokens: no 5xx, the error
envelope on every 4xx, and every documented response matching its schema.

The app runs under uvicorn against a real Postgres holding the fixed data set of test_rollup (two
clients, three widgets, two days of logs, one of them rolled up); generated requests are aimed at
real ids most of the time. Bounded: FUZZ_EXAMPLES (default 10) examples per operation, derandomized.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import Case

from shared.api import analytics, auth
from shared.api.app import build_app
from shared.db import Database
from shared.services import rollup
from tests.conftest import make_settings
from tests.factories import make_client, make_widget
from tests.fuzz import CHECKS, assert_error_envelope, bounded, case_seed, sign_in
from tests.integration.conftest import make_user
from tests.integration.test_rollup import SAT, DataSet, _logs, insert_logs
from tests.live import LiveServer

EXAMPLES_PER_OPERATION = 10
ADMIN = ("fuzz-analytics-admin@agency.test", "fuzz admin password 1")
VIEWER = ("fuzz-analytics-viewer@client.test", "fuzz viewer password 1")


def analytics_app(database_url: str) -> FastAPI:
    return build_app(
        title="analytics", routers=[auth.router, analytics.router], settings=make_settings(database_url)
    )


SCHEMA = schemathesis.openapi.from_dict(analytics_app("postgresql://schema-only.invalid/none").openapi())


@dataclass(frozen=True)
class LiveAnalyticsApi:
    base_url: str
    ids: dict[str, list[str]]  # path parameter name -> real ids (the viewer's own first)
    admin_token: str
    viewer_token: str


async def _seed(database_url: str) -> dict[str, list[str]]:
    db = Database(database_url)
    try:
        client_a, client_b = await make_client(db), await make_client(db)
        w1, _ = await make_widget(db, client=client_a)
        w2, _ = await make_widget(db, client=client_a, config={"low_confidence_threshold": 0.8})
        w3, _ = await make_widget(db, client=client_b)
        insert_logs(database_url, _logs(DataSet(client_a, client_b, w1, w2, w3)))
        await rollup.rollup_day(db, SAT)
        await make_user(db, email=ADMIN[0], password=ADMIN[1])
        await make_user(db, email=VIEWER[0], password=VIEWER[1], role="client", client_id=client_a.id)
    finally:
        await db.close()
    return {
        "widget_id": [str(w1.id), str(w3.id)],
        "client_id": [str(client_a.id), str(client_b.id)],
    }


@pytest.fixture
def live_analytics(db_url: str) -> Iterator[LiveAnalyticsApi]:
    with psycopg.connect(db_url) as conn:
        conn.execute("TRUNCATE analytics_rollup_days")
    ids = asyncio.run(_seed(db_url))
    with LiveServer(analytics_app(db_url)) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        tokens = sign_in(http, ADMIN, VIEWER)
        yield LiveAnalyticsApi(base_url, ids, tokens[0], tokens[1])


def aim(case: Case[Any], live: LiveAnalyticsApi) -> None:
    """Real ids (own or another client's) most of the time and, alternately, the admin's and the
    viewer's token, derived from the case itself so a replayed case is aimed the same way."""
    seed = case_seed(case)
    if case.path_parameters is None:
        case.path_parameters = {}
    for name in list(case.path_parameters):
        if name in live.ids and seed % 4:
            case.path_parameters[name] = live.ids[name][seed % 2]
        seed //= 4
    if case.headers is None:
        case.headers = {}
    if case.operation.path != "/v1/auth/login":
        token = live.viewer_token if seed % 2 else live.admin_token
        case.headers["Authorization"] = f"Bearer {token}"


@SCHEMA.parametrize()
@bounded(EXAMPLES_PER_OPERATION)
def test_analytics_routes_never_fail_on_our_side(case: Case[Any], live_analytics: LiveAnalyticsApi) -> None:
    # Given a generated request, aimed mostly at real ids with an admin's or a viewer's token
    aim(case, live_analytics)
    # When it is sent to the running app
    response = case.call_and_validate(base_url=live_analytics.base_url, checks=CHECKS, timeout=15)
    # Then no server error, the documented schema, and the error envelope on every 4xx
    assert_error_envelope(response)
