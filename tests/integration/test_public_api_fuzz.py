"""Schemathesis over the public routes (widget config, sessions, chat): no 5xx, the error envelope on
every 4xx, and every response the OpenAPI document describes matches its schema.

The app runs under uvicorn on 127.0.0.1 against a real, migrated Postgres and relays messages to a
tiny local webhook that answers like n8n, so the happy paths (a session, a relayed message, its
history and feedback, a renewal) run end to end, not only the rejections. Generation is
derandomized so the gate is stable; set FUZZ_EXAMPLES (default 40 per operation) to dig deeper.
"""

from __future__ import annotations

import asyncio
import base64
import threading
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from schemathesis import Case

from shared.api.app import build_app
from shared.api.public import chat, sessions, widget_config
from shared.db import Database
from tests.conftest import make_settings
from tests.factories import make_widget
from tests.fuzz import CHECKS, assert_error_envelope, bounded
from tests.live import LiveServer

PUBLIC_ROUTERS = (widget_config.router, sessions.router, chat.router)
ALLOWED_ORIGIN = "https://shop.example"
# The highest limits WidgetConfig accepts, so the fuzzer's requests are never rate limited.
HIGH_RATE_LIMITS = {
    "rate_limit": {
        "per_session_per_minute": 10_000,
        "per_ip_per_minute": 100_000,
        "per_ip_sessions_per_minute": 100_000,
        "per_ip_reads_per_minute": 100_000,
        "per_ip_feedback_per_minute": 100_000,
    }
}
EXAMPLES_PER_OPERATION = 40
MESSAGES_PATH = "/v1/widgets/{widget_id}/messages"
SESSIONS_PATH = "/v1/widgets/{widget_id}/sessions"


def public_app(database_url: str) -> FastAPI:
    return build_app(title="public", routers=PUBLIC_ROUTERS, settings=make_settings(database_url), relay=True)


# The OpenAPI document does not depend on the database: an app that never connects describes it.
SCHEMA = schemathesis.openapi.from_dict(public_app("postgresql://schema-only.invalid/none").openapi())


@dataclass(frozen=True)
class LiveApi:
    """The running app, and real values for the fuzzer to aim at."""

    base_url: str
    widget_id: str
    unavailable_widget_id: str
    session_id: str
    token: str
    other_widget_token: str
    message_id: str
    cursor: str


class _N8nHandler(BaseHTTPRequestHandler):
    """Answers every POST like an n8n Chat Trigger whose workflow replies "ok"."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = b'{"output": "ok"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output quiet


@pytest.fixture
def n8n_webhook() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _N8nHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/webhook/chat"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


async def _make_widgets(database_url: str, webhook_url: str) -> tuple[str, str, str]:
    """The fuzzed widget (one allowed origin), another live widget, and an inactive one."""
    db = Database(database_url)
    try:
        config = {**HIGH_RATE_LIMITS, "allowed_origins": [ALLOWED_ORIGIN]}
        widget, _ = await make_widget(db, config=config, webhook_url=webhook_url)
        other, _ = await make_widget(db, config=HIGH_RATE_LIMITS, webhook_url=webhook_url)
        inactive, _ = await make_widget(db, webhook_url=webhook_url, is_active=False)
    finally:
        await db.close()
    return str(widget.id), str(other.id), str(inactive.id)


@pytest.fixture
def live_api(db_url: str, n8n_webhook: str) -> Iterator[LiveApi]:
    """The public app serving an empty database with three widgets, a session and one exchange."""
    widget_id, other_id, inactive_id = asyncio.run(_make_widgets(db_url, n8n_webhook))
    with LiveServer(public_app(db_url)) as base_url, httpx.Client(base_url=base_url, timeout=10) as http:
        started = http.post(f"/v1/widgets/{widget_id}/sessions")
        other = http.post(f"/v1/widgets/{other_id}/sessions")
        assert started.status_code == other.status_code == 201, (started.text, other.text)
        session = started.json()
        auth = {"Authorization": f"Bearer {session['token']}"}
        sent = http.post(f"/v1/widgets/{widget_id}/messages", json={"message": "Hello"}, headers=auth)
        assert sent.status_code == 200 and sent.json()["reply"] == "ok", sent.text
        page = http.get(f"/v1/widgets/{widget_id}/messages", params={"limit": 1}, headers=auth)
        assert page.status_code == 200 and page.json()["next_cursor"], page.text
        yield LiveApi(
            base_url=base_url,
            widget_id=widget_id,
            unavailable_widget_id=inactive_id,
            session_id=session["session_id"],
            token=session["token"],
            other_widget_token=other.json()["token"],
            message_id=sent.json()["message_id"],
            cursor=page.json()["next_cursor"],
        )


def _digits(case: Case[Any]) -> Iterator[int]:
    """Decimal digits derived from the generated request itself, so that a replayed or shrunk case
    is aimed the same way (schemathesis's explicit coverage cases cannot take extra strategies)."""
    body = case.body if isinstance(case.body, dict | list | str | int | float | bool | None) else "unset"
    seed = zlib.crc32(repr((case.operation.label, case.path_parameters, case.query, body)).encode())
    while True:
        yield seed % 10
        seed //= 10


def aim(case: Case[Any], live: LiveApi) -> None:
    """Point most generated requests at the live widget with its valid session, from no Origin or
    the allowed one; keep the rest as generated, or make them wrong on purpose."""
    digit = _digits(case)
    if case.path_parameters is None:
        case.path_parameters = {}
    if case.headers is None:
        case.headers = {}
    path, headers = case.path_parameters, case.headers
    widget_choice = next(digit)
    if widget_choice >= 2:
        path["widget_id"] = live.widget_id
    elif widget_choice == 1:
        path["widget_id"] = live.unavailable_widget_id
    # else: the generated id (an unknown widget, or not a UUID at all)
    token_choice = next(digit)
    if token_choice >= 4:
        headers["Authorization"] = f"Bearer {live.token}"
    elif token_choice == 3:
        headers["Authorization"] = f"Bearer {live.other_widget_token}"
    elif token_choice == 2:
        headers["Authorization"] = "Bearer v1.bm90LWEtdG9rZW4.forged"
    elif token_choice == 1:
        headers["Authorization"] = f"Basic {live.token}"
    # else: no Authorization header
    origin_choice = next(digit)
    if origin_choice == 0:
        headers["Origin"] = "https://evil.example"
    elif origin_choice <= 2:
        headers["Origin"] = ALLOWED_ORIGIN
    if "message_id" in path and next(digit) >= 3:
        path["message_id"] = live.message_id
    if isinstance(case.query, dict) and "cursor" in case.query and next(digit) >= 5:
        case.query["cursor"] = live.cursor
    if case.operation.path == SESSIONS_PATH and isinstance(case.body, dict):
        if "token" in case.body and next(digit) >= 3:
            case.body["token"] = live.token
        if "session_id" in case.body and next(digit) >= 3:
            case.body["session_id"] = live.session_id


@SCHEMA.parametrize()
@bounded(EXAMPLES_PER_OPERATION)
def test_public_routes_never_fail_on_our_side(case: Case[Any], live_api: LiveApi) -> None:
    # Given a generated request (valid or not), aimed most of the time at the live widget and session
    aim(case, live_api)
    # When it is sent to the running app
    response = case.call_and_validate(base_url=live_api.base_url, checks=CHECKS, timeout=15)
    # Then it was no server error, matched its documented schema, and any 4xx is the error envelope
    assert_error_envelope(response)


Request = tuple[str, str, dict[str, str], Any]  # method, path, query, body (None: no body)
SOME_ID = uuid.UUID(int=1)


def _message(body: Any) -> Request:
    return ("POST", MESSAGES_PATH, {}, body)


def _renewal(body: Any) -> Request:
    return ("POST", SESSIONS_PATH, {}, body)


def _history(cursor: str) -> Request:
    return ("GET", MESSAGES_PATH, {"cursor": base64.urlsafe_b64encode(cursor.encode()).decode()}, None)


# Inputs random generation rarely hits, sent through the same checks with a valid session.
HOSTILE_INPUTS: dict[str, Request] = {
    "NUL in a message": _message({"message": "a\x00b"}),
    "NUL in message metadata": _message(
        {"message": "hi", "metadata": {"page_url": "\x00", "locale": "\x00"}}
    ),
    "lone surrogate in a message": _message({"message": "\ud800"}),
    "message one over the limit": _message({"message": "x" * 4001}),
    "4,000 four-byte characters": _message({"message": "\U0001f600" * 4000}),
    "NUL in a session token": _renewal({"token": "\x00"}),
    "cursor of a NUL": _history("\x00"),
    "cursor without a timezone": _history(f"2020-01-01T00:00|{SOME_ID}"),
    "cursor at year 1": _history(f"0001-01-01T00:00+14:00|{SOME_ID}"),
    "cursor at year 9999": _history(f"9999-12-31T23:59-14:00|{SOME_ID}"),
}


@pytest.mark.parametrize("name", HOSTILE_INPUTS)
def test_hostile_inputs_never_fail_on_our_side(name: str, live_api: LiveApi) -> None:
    # Given a hand-picked hostile request to the live widget, with a valid session
    method, path, query, body = HOSTILE_INPUTS[name]
    case = SCHEMA[path][method].Case(
        path_parameters={"widget_id": live_api.widget_id},
        headers={"Authorization": f"Bearer {live_api.token}"},
        query=query,
        **({} if body is None else {"body": body}),
    )
    # When it is sent to the running app
    response = case.call_and_validate(base_url=live_api.base_url, checks=CHECKS, timeout=15)
    # Then it was no server error, matched its documented schema, and any 4xx is the error envelope
    assert_error_envelope(response)
