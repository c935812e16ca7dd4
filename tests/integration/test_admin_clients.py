"""Admin API, clients: list with search and paging, create, get, change, and delete with everything
below them (and nothing of another client's)."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest

from shared.db import Database
from shared.models import Client
from shared.models.admin import Page
from shared.models.admin.clients import ClientDetail
from shared.repositories import clients
from tests.factories import make_client, make_widget
from tests.integration.conftest import OperatorApi, make_user

pytestmark = pytest.mark.anyio

DEPENDENT_TABLES = ("widgets", "chat_logs", "analytics", "webhook_errors", "users")


def fill_widget(db_url: str, widget_id: UUID, *, logs: int, days: int, errors: int) -> None:
    """Give a widget chat logs, daily analytics rows and webhook errors."""
    with psycopg.connect(db_url) as conn:
        for i in range(logs):
            conn.execute(
                "INSERT INTO chat_logs (widget_id, user_id, message, response) VALUES (%s, %s, %s, %s)",
                (widget_id, f"session-{i % 2}", f"question {i}", f"answer {i}"),
            )
        for i in range(days):
            conn.execute(
                "INSERT INTO analytics (widget_id, date, num_chats) VALUES (%s, %s, %s)",
                (widget_id, date(2026, 1, 1) + timedelta(days=i), 3),
            )
        for _ in range(errors):
            conn.execute(
                "INSERT INTO webhook_errors (widget_id, error_type, error_message) VALUES (%s, 'timeout', 'slow')",
                (widget_id,),
            )


async def a_client_with_data(operator: OperatorApi, db: Database, **fields: str) -> Client:
    """A client with two filled widgets and a viewer."""
    client = await make_client(db, **fields)
    for logs, days, errors in ((3, 2, 1), (2, 1, 2)):
        widget, _ = await make_widget(db, client=client)
        fill_widget(operator.db_url, widget.id, logs=logs, days=days, errors=errors)
    await make_user(
        db, email=f"viewer-{client.id}@client.test", password="x" * 12, role="client", client_id=client.id
    )
    return client


def counts_of(operator: OperatorApi, client_id: UUID | None = None) -> dict[str, int]:
    """Rows per table, of one client's (or of every) widget."""
    of_widget = "widget_id IN (SELECT id FROM widgets WHERE client_id = %s)"
    where = {
        "widgets": "client_id = %s",
        "chat_logs": of_widget,
        "analytics": of_widget,
        "webhook_errors": of_widget,
        "users": "client_id = %s",
    }
    if client_id is None:
        return {table: operator.count(table) for table in DEPENDENT_TABLES}
    return {table: operator.count(table, where[table], client_id) for table in DEPENDENT_TABLES}


async def test_list_searches_name_company_and_email_and_pages_with_a_total(
    operator: OperatorApi, db: Database
) -> None:
    # Given clients found by name, by company and by contact email, and others
    await make_client(db, name="Bakery Blum")
    await make_client(db, name="Alpha", company_name="BLUM Holdings")
    await make_client(db, name="Zeta", contact_email="owner@blum.example")
    for name in ("Other 1", "Other 2"):
        await make_client(db, name=name)

    # When the admin searches in any case
    found = await operator.client.get("/v1/admin/clients?search=bLuM", headers=operator.auth)

    # Then every match comes back, by name, with the total
    assert found.status_code == 200, found.text
    body = found.json()
    assert [c["name"] for c in body["items"]] == ["Alpha", "Bakery Blum", "Zeta"]
    assert (body["total"], body["limit"], body["offset"]) == (3, 50, 0)

    # And pages of the full list keep the total of every client
    page = (await operator.client.get("/v1/admin/clients?limit=2&offset=2", headers=operator.auth)).json()
    assert [c["name"] for c in page["items"]] == ["Other 1", "Other 2"]
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 2)
    beyond = (await operator.client.get("/v1/admin/clients?offset=10", headers=operator.auth)).json()
    assert (beyond["items"], beyond["total"]) == ([], 5)


async def test_each_list_item_is_the_client_as_get_shows_it(operator: OperatorApi, db: Database) -> None:
    # Given a client with widgets and one with nothing but a name
    busy = await make_client(db, name="Bäckerei", company_name="Busy GmbH", contact_email="a@busy.example")
    for _ in range(2):
        await make_widget(db, client=busy)
    await make_client(db, name="Quiet")

    # When the admin lists the clients
    response = await operator.client.get("/v1/admin/clients", headers=operator.auth)

    # Then each item is what GET answers for that client, its widget count included
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(c["name"], c["widget_count"]) for c in items] == [("Bäckerei", 2), ("Quiet", 0)]
    for item in items:
        assert (
            item
            == (await operator.client.get(f"/v1/admin/clients/{item['id']}", headers=operator.auth)).json()
        )
    # and the answer is, byte for byte, the documented page model's own serialisation of itself
    page = Page[ClientDetail].model_validate_json(response.content)
    assert page.model_dump_json().encode() == response.content


async def test_search_matches_wildcard_characters_literally(operator: OperatorApi, db: Database) -> None:
    await make_client(db, name="100% Organic")
    await make_client(db, name="1000 Organic")
    found = (await operator.client.get("/v1/admin/clients?search=0%25", headers=operator.auth)).json()
    assert [c["name"] for c in found["items"]] == ["100% Organic"]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "offset=-1", "limit=ten"])
async def test_list_refuses_paging_out_of_bounds(operator: OperatorApi, query: str) -> None:
    response = await operator.client.get(f"/v1/admin/clients?{query}", headers=operator.auth)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_create_get_and_change_a_client(operator: OperatorApi, db: Database) -> None:
    # When the admin creates a client
    created = await operator.client.post(
        "/v1/admin/clients",
        json={"name": "  Acme  ", "contact_email": "Owner@Acme.Example", "company_name": "Acme Ltd"},
        headers=operator.auth,
    )

    # Then it is stored, trimmed, with no widgets yet
    assert created.status_code == 201, created.text
    client = created.json()
    assert (client["name"], client["contact_email"], client["company_name"], client["widget_count"]) == (
        "Acme",
        "owner@acme.example",
        "Acme Ltd",
        0,
    )
    url = f"/v1/admin/clients/{client['id']}"

    # And reading it counts its widgets
    await make_widget(db, client=await _client(db, client["id"]))
    got = await operator.client.get(url, headers=operator.auth)
    assert got.status_code == 200
    assert got.json() == client | {"widget_count": 1}

    # When it is changed: a new name, the email cleared, the company kept
    changed = await operator.client.patch(
        url, json={"name": "Acme Corp", "contact_email": None}, headers=operator.auth
    )

    # Then only those fields change
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["contact_email"], changed.json()["company_name"]) == (
        "Acme Corp",
        None,
        "Acme Ltd",
    )
    assert operator.rows("SELECT name, contact_email, company_name FROM clients") == [
        ("Acme Corp", None, "Acme Ltd")
    ]

    # And an empty change changes nothing
    same = await operator.client.patch(url, json={}, headers=operator.auth)
    assert same.status_code == 200
    assert same.json()["name"] == "Acme Corp"


async def _client(db: Database, client_id: str) -> Client:
    found = await db.run(clients.get_client, client_id=UUID(client_id))
    assert found is not None
    return found


@pytest.mark.parametrize(
    "change",
    [
        {"name": None},
        {"name": "   "},
        {"contact_email": "not an email"},
        {"widget_secret": "x"},
        {"id": str(uuid4())},
        {"name": "x" * 201},
    ],
)
async def test_a_bad_change_is_refused_and_changes_nothing(
    operator: OperatorApi, db: Database, change: dict[str, object]
) -> None:
    client = await make_client(db, name="Kept")
    response = await operator.client.patch(
        f"/v1/admin/clients/{client.id}", json=change, headers=operator.auth
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"
    assert operator.rows("SELECT name FROM clients") == [("Kept",)]


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "A", "extra": 1}, {"name": "A", "contact_email": "x@"}]
)
async def test_a_bad_new_client_is_refused(operator: OperatorApi, body: dict[str, object]) -> None:
    response = await operator.client.post("/v1/admin/clients", json=body, headers=operator.auth)
    assert response.status_code == 422
    assert operator.count("clients") == 0


async def test_an_unknown_client_is_404_everywhere(operator: OperatorApi) -> None:
    url = f"/v1/admin/clients/{uuid4()}"
    for response in (
        await operator.client.get(url, headers=operator.auth),
        await operator.client.patch(url, json={"name": "X"}, headers=operator.auth),
        await operator.client.delete(url, headers=operator.auth),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "client_not_found"


async def test_deleting_a_client_removes_everything_below_it_and_answers_the_counts(
    operator: OperatorApi, db: Database
) -> None:
    # Given a client with two widgets, their logs, rollups and errors, and a viewer; and another
    # client with the same kinds of rows
    doomed = await a_client_with_data(operator, db, name="Doomed")
    kept = await a_client_with_data(operator, db, name="Kept")
    before = counts_of(operator, doomed.id)
    assert before == {"widgets": 2, "chat_logs": 5, "analytics": 3, "webhook_errors": 3, "users": 1}
    kept_before = counts_of(operator, kept.id)
    everything_before = counts_of(operator)
    viewer_token = await operator.sign_in(f"viewer-{doomed.id}@client.test", "x" * 12)

    # When the admin deletes the client
    response = await operator.client.delete(f"/v1/admin/clients/{doomed.id}", headers=operator.auth)

    # Then it answers exactly what went
    assert response.status_code == 200, response.text
    assert response.json() == {"clients": 1, **before}

    # And none of the client's rows are left, while the other client's are untouched
    assert operator.count("clients", "id = %s", doomed.id) == 0
    assert counts_of(operator, doomed.id) == dict.fromkeys(DEPENDENT_TABLES, 0)
    assert counts_of(operator, kept.id) == kept_before
    after = counts_of(operator)
    assert {t: everything_before[t] - after[t] for t in DEPENDENT_TABLES} == before
    assert operator.count("users", "role = 'admin'") == 1

    # And the deleted client's viewer is signed out
    me = await operator.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {viewer_token}"})
    assert me.status_code == 401

    # And deleting it again is 404
    again = await operator.client.delete(f"/v1/admin/clients/{doomed.id}", headers=operator.auth)
    assert again.status_code == 404


async def test_deleting_a_client_without_widgets_answers_one_client(
    operator: OperatorApi, db: Database
) -> None:
    client = await make_client(db)
    response = await operator.client.delete(f"/v1/admin/clients/{client.id}", headers=operator.auth)
    assert response.json() == {
        "clients": 1,
        "widgets": 0,
        "chat_logs": 0,
        "analytics": 0,
        "webhook_errors": 0,
        "users": 0,
    }


async def test_every_client_route_needs_an_admin(operator: OperatorApi, db: Database) -> None:
    # Given a client viewer signed in
    client = await make_client(db)
    await make_user(db, email="viewer@client.test", password="y" * 12, role="client", client_id=client.id)
    viewer = {"Authorization": f"Bearer {await operator.sign_in('viewer@client.test', 'y' * 12)}"}
    url = f"/v1/admin/clients/{client.id}"
    calls = [
        ("GET", "/v1/admin/clients", None),
        ("POST", "/v1/admin/clients", {"name": "Mine"}),
        ("GET", url, None),
        ("PATCH", url, {"name": "Mine"}),
        ("DELETE", url, None),
    ]
    for method, path, body in calls:
        # Then the viewer is refused (403) and nobody signed in is asked to sign in (401)
        as_viewer = await operator.client.request(method, path, json=body, headers=viewer)
        assert as_viewer.status_code == 403, (method, path)
        assert as_viewer.json()["error"]["code"] == "admin_only"
        anonymous = await operator.client.request(method, path, json=body)
        assert anonymous.status_code == 401, (method, path)
    # And nothing changed
    assert operator.rows("SELECT id, name FROM clients") == [(client.id, client.name)]
