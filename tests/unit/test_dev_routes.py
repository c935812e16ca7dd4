"""The dev runner refuses two functions that claim the same route."""

from __future__ import annotations

import pytest
from fastapi import APIRouter

from scripts.dev import DuplicateRouteError, collect_routes


def router_with(path: str, method: str) -> APIRouter:
    router = APIRouter()

    async def endpoint() -> None:
        return None

    router.add_api_route(path, endpoint, methods=[method])
    return router


def test_distinct_routes_are_collected() -> None:
    routes = collect_routes({"a": [router_with("/v1/a", "GET")], "b": [router_with("/v1/a", "POST")]})
    assert [name for name, _ in routes] == ["a", "b"]


def test_a_route_claimed_twice_is_refused_with_both_names() -> None:
    with pytest.raises(DuplicateRouteError, match="GET /v1/x is served by both 'chat' and 'admin'"):
        collect_routes({"chat": [router_with("/v1/x", "GET")], "admin": [router_with("/v1/x", "GET")]})
