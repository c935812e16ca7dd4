"""What the Schemathesis tests share: the checks, the bounded Hypothesis settings, the error envelope,
signing in, and the seed a case is aimed with."""

from __future__ import annotations

import os
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, Response

CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance]
F = TypeVar("F", bound=Callable[..., Any])


def bounded(default_examples: int) -> Callable[[F], F]:
    """Derandomized Hypothesis settings with FUZZ_EXAMPLES (else `default_examples`) per operation."""
    return settings(
        max_examples=int(os.environ.get("FUZZ_EXAMPLES", str(default_examples))),
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def assert_error_envelope(response: Response) -> None:
    """A 4xx answers `{"error": {"code": str, "message": str, ...}}`."""
    if 400 <= response.status_code < 500:
        body = response.json() if response.content else None
        error = body.get("error") if isinstance(body, dict) else None
        assert isinstance(error, dict), f"{response.status_code} without the error envelope: {response.text}"
        assert isinstance(error.get("code"), str) and isinstance(error.get("message"), str), response.text


def sign_in(http: httpx.Client, *credentials: tuple[str, str]) -> list[str]:
    """An access token for each (email, password), through the auth API."""
    tokens = []
    for email, password in credentials:
        signed_in = http.post("/v1/auth/login", json={"email": email, "password": password})
        assert signed_in.status_code == 200, signed_in.text
        tokens.append(signed_in.json()["access_token"])
    return tokens


def case_seed(case: Case[Any]) -> int:
    """A number derived from the case itself, so a replayed or shrunk case is aimed the same way."""
    return zlib.crc32(repr((case.operation.label, case.path_parameters, case.query)).encode())
