"""The admin and auth APIs document themselves: every operation has a summary, a response model and
its error responses, and no example carries a secret."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.api import admin, auth
from shared.api.app import build_app
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    app = build_app(
        title="operator",
        routers=[auth.router, *admin.ROUTERS],
        settings=make_settings("postgresql://u@h/none"),
    )
    document: dict[str, Any] = app.openapi()
    return document


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]


def test_every_operation_has_a_summary_a_response_model_and_error_responses(spec: dict[str, Any]) -> None:
    operations = _operations(spec)
    assert len(operations) >= 20
    for method, path, operation in operations:
        assert operation.get("summary"), (method, path)
        success = [code for code in operation["responses"] if code.startswith("2")]
        assert success, (method, path)
        content = operation["responses"][success[0]].get("content", {})
        assert "application/json" in content and content["application/json"].get("schema"), (method, path)
        errors = {code for code in operation["responses"] if code[0] in "45"}
        assert {"401", "422"} <= errors, (method, path, errors)
        for code in errors:
            schema = json.dumps(operation["responses"][code].get("content", {}))
            assert "ErrorResponse" in schema, (method, path, code)


def test_no_example_or_default_carries_a_secret(spec: dict[str, Any]) -> None:
    for name, schema in spec["components"]["schemas"].items():
        for field, definition in schema.get("properties", {}).items():
            if "secret" in field or "password" in field or field == "access_token":
                for key in ("example", "examples", "default"):
                    assert key not in definition, (name, field, key)
