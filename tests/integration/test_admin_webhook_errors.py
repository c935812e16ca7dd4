"""Admin review of webhook errors: newest first, cursor-paged, filtered by widget, client, time and
kind, each with its widget's and client's names."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from shared.db import Database
from shared.models import Client, Widget
from tests.factories import make_client, make_widget
from tests.integration.conftest import OperatorApi, make_user

pytestmark = pytest.mark.anyio

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
URL = "/v1/admin/webhook-errors"


@dataclass
class Failure:
    id: uuid.UUID
    widget: str
    error_type: str
    at: datetime


@dataclass
class Seeded:
    clients: dict[str, Client]
    widgets: dict[str, Widget]
    failures: list[Failure]

    def expected(
        self, *, widgets: set[str] | None = None, since: int = 0, kind: str | None = None
    ) -> list[str]:
        chosen = [
            f
            for f in self.failures
            if (widgets is None or f.widget in widgets)
            and f.at >= T0 + timedelta(minutes=since)
            and (kind is None or f.error_type == kind)
        ]
        return [str(f.id) for f in sorted(chosen, key=lambda f: (f.at, f.id), reverse=True)]


# (widget, kind, minutes after T0). Widgets a1 and a2 belong to client "acme", b1 to "bolt"; two
# failures share a time, so only the id orders them.
ROWS = [
    ("a1", "timeout", 0),
    ("a1", "http_5xx", 5),
    ("a1", "timeout", 9),
    ("a2", "not_registered", 3),
    ("a2", "timeout", 9),
    ("b1", "tls", 1),
    ("b1", "timeout", 7),
]


@pytest.fixture
async def seeded(operator: OperatorApi, db: Database) -> Seeded:
    """Given two clients' widgets with the failures of ROWS at known times."""
    acme = await make_client(db, name="Acme")
    bolt = await make_client(db, name="Bolt")
    a1, _ = await make_widget(db, client=acme)
    a2, _ = await make_widget(db, client=acme)
    b1, _ = await make_widget(db, client=bolt)
    widgets = {"a1": a1, "a2": a2, "b1": b1}
    failures = []
    for key, kind, minutes in ROWS:
        failure = Failure(uuid.uuid4(), key, kind, T0 + timedelta(minutes=minutes))
        operator.rows(
            "INSERT INTO webhook_errors (id, widget_id, error_type, error_message, occurred_at) "
            "VALUES (%s, %s, %s, %s, %s) RETURNING id",
            failure.id,
            widgets[key].id,
            kind,
            f"{kind} calling https://<redacted>/",
            failure.at,
        )
        failures.append(failure)
    return Seeded({"acme": acme, "bolt": bolt}, widgets, failures)


async def _all_pages(operator: OperatorApi, query: str, limit: int) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    while True:
        params = f"{query}&limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = await operator.client.get(f"{URL}?{params}", headers=operator.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        ids += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return ids


async def test_webhook_errors_come_newest_first_with_names_and_page_without_gaps(
    operator: OperatorApi, seeded: Seeded
) -> None:
    # When every failure is read two at a time
    ids = await _all_pages(operator, "", limit=2)
    # Then each comes once, newest first (ties broken by id)
    assert ids == seeded.expected()
    # And each carries its widget's and client's names
    first = (await operator.client.get(f"{URL}?limit=1", headers=operator.auth)).json()["items"][0]
    newest = max(seeded.failures, key=lambda f: (f.at, f.id))
    widget = seeded.widgets[newest.widget]
    assert first == {
        "id": str(newest.id),
        "widget_id": str(widget.id),
        "widget_name": widget.name,
        "client_id": str(seeded.clients["acme"].id),
        "client_name": "Acme",
        "error_type": "timeout",
        "error_message": "timeout calling https://<redacted>/",
        "occurred_at": "2025-03-01T12:09:00Z",
    }


async def test_webhook_errors_filter_by_widget_client_time_and_kind(
    operator: OperatorApi, seeded: Seeded
) -> None:
    widgets, clients = seeded.widgets, seeded.clients
    cases = [
        (f"widget_id={widgets['a2'].id}", seeded.expected(widgets={"a2"})),
        (f"client_id={clients['acme'].id}", seeded.expected(widgets={"a1", "a2"})),
        (f"client_id={clients['bolt'].id}", seeded.expected(widgets={"b1"})),
        ("since=2025-03-01T14:05:00%2B02:00", seeded.expected(since=5)),
        ("error_type=timeout", seeded.expected(kind="timeout")),
        (
            f"client_id={clients['acme'].id}&error_type=timeout&since=2025-03-01T12:01:00Z",
            seeded.expected(widgets={"a1", "a2"}, since=1, kind="timeout"),
        ),
        (f"widget_id={widgets['b1'].id}&client_id={clients['acme'].id}", []),
        ("error_type=overloaded", []),
    ]
    for query, expected in cases:
        assert await _all_pages(operator, query, limit=2) == expected, query


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("error_type=boom", "validation_error"),
        ("since=2025-03-01T12:00:00", "validation_error"),  # no timezone
        ("since=soon", "validation_error"),
        ("cursor=bm9wZQ", "invalid_cursor"),
        ("widget_id=1", "validation_error"),
        ("limit=500", "validation_error"),
    ],
)
async def test_bad_webhook_error_queries_answer_422(operator: OperatorApi, query: str, code: str) -> None:
    response = await operator.client.get(f"{URL}?{query}", headers=operator.auth)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == code


async def test_an_unknown_widget_or_client_answers_404(operator: OperatorApi, seeded: Seeded) -> None:
    widget = await operator.client.get(f"{URL}?widget_id={uuid.uuid4()}", headers=operator.auth)
    client = await operator.client.get(f"{URL}?client_id={uuid.uuid4()}", headers=operator.auth)
    assert widget.status_code == client.status_code == 404
    assert widget.json()["error"]["code"] == "widget_not_found"
    assert client.json()["error"]["code"] == "client_not_found"


async def test_a_client_viewer_is_refused(operator: OperatorApi, seeded: Seeded, db: Database) -> None:
    acme = seeded.clients["acme"]
    await make_user(
        db, email="viewer@acme.test", password="viewer password 1", role="client", client_id=acme.id
    )
    token = await operator.sign_in("viewer@acme.test", "viewer password 1")
    own = await operator.client.get(
        f"{URL}?client_id={acme.id}", headers={"Authorization": f"Bearer {token}"}
    )
    anonymous = await operator.client.get(URL)
    assert own.status_code == 403 and own.json()["error"]["code"] == "admin_only"
    assert anonymous.status_code == 401
