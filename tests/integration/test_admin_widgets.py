"""Admin API: widgets. Create, read, list, change (config merged), delete with everything below a
widget, bulk delete, rotate the secret, the embed snippet; the secret is shown only on create and
rotate."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any

import jwt
import psycopg
import pytest

from shared.db import Database
from shared.models import Client
from shared.models.admin import Page
from shared.models.admin.widgets import WidgetSummary
from shared.repositories import widgets as widget_rows
from shared.services import widgets
from tests.conftest import LogCapture
from tests.factories import make_client, make_widget
from tests.integration.conftest import OperatorApi, PublicApi, make_user
from tests.n8n import FakeN8n

pytestmark = pytest.mark.anyio


async def create(
    operator: OperatorApi, client: Client, url: str, name: str = "Support", **fields: Any
) -> dict[str, Any]:
    response = await operator.client.post(
        "/v1/admin/widgets",
        json={"client_id": str(client.id), "name": name, "webhook_url": url, **fields},
        headers=operator.auth,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def add_dependent_rows(operator: OperatorApi, widget_id: Any, *, logs: int = 2) -> None:
    """Chat logs, an analytics day and a webhook error of the widget."""
    operator.rows(
        "INSERT INTO chat_logs (widget_id, user_id, message, response) "
        "SELECT %s, 'session', 'question', 'answer' FROM generate_series(1, %s) RETURNING id",
        widget_id,
        logs,
    )
    operator.rows("INSERT INTO analytics (widget_id, date) VALUES (%s, current_date) RETURNING id", widget_id)
    operator.rows(
        "INSERT INTO webhook_errors (widget_id, error_type, error_message) "
        "VALUES (%s, 'timeout', 'slow') RETURNING id",
        widget_id,
    )


def dependent_counts(operator: OperatorApi, widget_id: Any) -> tuple[int, int, int]:
    return (
        operator.count("chat_logs", "widget_id = %s", widget_id),
        operator.count("analytics", "widget_id = %s", widget_id),
        operator.count("webhook_errors", "widget_id = %s", widget_id),
    )


async def test_create_answers_the_widget_with_its_secret_once(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a client
    client = await make_client(db)
    # When an admin creates a widget for it
    body = await create(
        operator, client, fake_n8n.url, config={"title": "Ask Acme", "theme": {"primary_color": "#112233"}}
    )
    # Then it answers the widget, its config with defaults filled in, and the secret in clear
    secret = body["widget_secret"]
    assert len(secret) >= 43
    assert body["widget_secret_masked"] == "••••" + secret[-4:]
    assert body["client_id"] == str(client.id) and body["name"] == "Support"
    assert body["config"]["title"] == "Ask Acme"
    assert body["config"]["theme"]["primary_color"] == "#112233"
    assert body["config"]["theme"]["text_color"] == "#111827"
    assert body["config"]["low_confidence_threshold"] == 0.5 and body["config"]["retention_days"] is None
    assert body["is_demo"] is False and body["demo_url"] is None and body["is_active"] is True
    assert body["webhook_test"]["ok"] is True
    # and the row holds exactly that secret
    assert operator.rows("SELECT widget_secret FROM widgets WHERE id = %s", body["id"]) == [(secret,)]


async def test_the_secret_is_masked_everywhere_but_create_and_rotate(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n, platform_logs: LogCapture
) -> None:
    # Given a widget created through the API
    client = await make_client(db)
    created = await create(operator, client, fake_n8n.url)
    secret, widget_id = created["widget_secret"], created["id"]
    # When it is read, listed, changed, tested and its embed snippet asked for
    answers = [
        await operator.client.get(f"/v1/admin/widgets/{widget_id}", headers=operator.auth),
        await operator.client.get("/v1/admin/widgets", headers=operator.auth),
        await operator.client.patch(
            f"/v1/admin/widgets/{widget_id}", json={"config": {"title": "New"}}, headers=operator.auth
        ),
        await operator.client.post(f"/v1/admin/widgets/{widget_id}/test-webhook", headers=operator.auth),
        await operator.client.get(f"/v1/admin/widgets/{widget_id}/embed", headers=operator.auth),
    ]
    # Then none of them carries the secret, only its mask
    for response in answers:
        assert response.status_code == 200, response.text
        assert secret not in response.text
        assert 'widget_secret"' not in response.text
    assert answers[0].json()["widget_secret_masked"] == "••••" + secret[-4:]
    assert answers[1].json()["items"][0]["widget_secret_masked"] == "••••" + secret[-4:]
    # and rotation answers the new secret once
    rotated = await operator.client.post(
        f"/v1/admin/widgets/{widget_id}/rotate-secret", headers=operator.auth
    )
    assert rotated.status_code == 200
    new_secret = rotated.json()["widget_secret"]
    assert new_secret != secret and rotated.json()["widget_secret_masked"] == "••••" + new_secret[-4:]
    # and no log line carries either secret
    logged = str(platform_logs.lines)
    assert secret not in logged and new_secret not in logged
    actions = [line.get("action") for line in platform_logs.named("audit")]
    assert {"widget.create", "widget.update", "widget.test_webhook", "widget.rotate_secret"} <= set(actions)


async def test_rotating_the_secret_changes_what_n8n_receives(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget and its secret
    client = await make_client(db)
    created = await create(operator, client, fake_n8n.url)
    old_secret, widget_id = created["widget_secret"], created["id"]
    # When the secret is rotated and the webhook called again
    rotated = await operator.client.post(
        f"/v1/admin/widgets/{widget_id}/rotate-secret", headers=operator.auth
    )
    new_secret = rotated.json()["widget_secret"]
    fake_n8n.received.clear()
    tested = await operator.client.post(f"/v1/admin/widgets/{widget_id}/test-webhook", headers=operator.auth)
    assert tested.status_code == 200, tested.text
    # Then n8n receives a JWT that verifies with the new secret only
    token = fake_n8n.received[-1].headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, new_secret, algorithms=["HS256"])
    assert claims["sub"] == widget_id
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, old_secret, algorithms=["HS256"])


async def test_get_and_every_widget_route_answer_404_for_an_unknown_widget(operator: OperatorApi) -> None:
    missing = uuid.uuid4()
    for method, path, body in (
        ("GET", f"/v1/admin/widgets/{missing}", None),
        ("PATCH", f"/v1/admin/widgets/{missing}", {"name": "x"}),
        ("DELETE", f"/v1/admin/widgets/{missing}", None),
        ("POST", f"/v1/admin/widgets/{missing}/rotate-secret", None),
        ("POST", f"/v1/admin/widgets/{missing}/test-webhook", None),
        ("GET", f"/v1/admin/widgets/{missing}/embed", None),
    ):
        response = await operator.client.request(method, path, json=body, headers=operator.auth)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "widget_not_found"
        assert str(missing) in response.json()["error"]["message"]


async def test_an_unknown_client_answers_404_naming_it(operator: OperatorApi, fake_n8n: FakeN8n) -> None:
    missing = uuid.uuid4()
    response = await operator.client.post(
        "/v1/admin/widgets",
        json={"client_id": str(missing), "name": "W", "webhook_url": fake_n8n.url},
        headers=operator.auth,
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "client_not_found"
    assert str(missing) in response.json()["error"]["message"]
    assert operator.count("widgets") == 0


async def test_a_name_taken_within_the_client_answers_409(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a client with a widget "Support", and another client
    client, other = await make_client(db), await make_client(db)
    await create(operator, client, fake_n8n.url, name="Support")
    second = await create(operator, client, fake_n8n.url, name="Sales")
    # Then another "Support" of the same client is refused, naming the clash
    clash = await operator.client.post(
        "/v1/admin/widgets",
        json={"client_id": str(client.id), "name": "Support", "webhook_url": fake_n8n.url},
        headers=operator.auth,
    )
    assert clash.status_code == 409
    assert clash.json()["error"]["code"] == "widget_name_taken"
    assert "'Support'" in clash.json()["error"]["message"]
    # and so is renaming another widget to it
    renamed = await operator.client.patch(
        f"/v1/admin/widgets/{second['id']}", json={"name": "Support"}, headers=operator.auth
    )
    assert renamed.status_code == 409
    # but another client may use the name
    await create(operator, other, fake_n8n.url, name="Support")
    assert operator.count("widgets") == 3


async def test_a_search_finds_exactly_the_names_containing_it_at_every_length(
    operator: OperatorApi, db: Database
) -> None:
    # Given widgets whose names repeat, overlap and mix scripts, and one renamed after it was made
    client = await make_client(db, name="Acme")
    names = [
        "Sales bot",
        "Sales Sales",
        "Bus sale",
        "Ölçü Straße",
        "a_b%c",
        "Widget 7",
        "Widget 70",
        "Wid get 7",
    ]
    for name in names:
        await make_widget(db, client=client, name=name)
    renamed, _ = await make_widget(db, client=client, name="Old name")
    operator.rows("UPDATE widgets SET name = 'Renamed bot' WHERE id = %s RETURNING id", renamed.id)
    names.append("Renamed bot")

    # When every piece of every name, of every length, and some absent ones, are searched
    searches = {name[i:j] for name in names for i in range(len(name)) for j in range(i + 1, len(name) + 1)}
    searches |= {"old name", "sales  bot", "xyz", "widget 77", "ÖLÇÜ", "STRASSE"}
    for search in sorted(searches):
        response = await operator.client.get(
            "/v1/admin/widgets", params={"search": search, "limit": 200}, headers=operator.auth
        )
        assert response.status_code == 200, response.text
        body = response.json()

        # Then exactly the names holding it (case-insensitive) are listed and counted
        expected = sorted(name for name in names if search.lower() in name.lower())
        assert sorted(item["name"] for item in body["items"]) == expected, search
        assert body["total"] == len(expected), search


async def test_the_search_index_follows_every_write_of_a_name(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    async def assert_searches_match_the_names() -> None:
        names = {name for (name,) in operator.rows("SELECT name FROM widgets")}
        pieces = {name[i : i + n] for name in names for n in (3, 5) for i in range(len(name) - n + 1)}
        for search in sorted(pieces | {"xyz", "SALES", "ales bot"}):
            for client_id in (None, acme.id):
                params: dict[str, Any] = {"search": search, "limit": 200}
                if client_id is not None:
                    params["client_id"] = str(client_id)
                response = await operator.client.get(
                    "/v1/admin/widgets", params=params, headers=operator.auth
                )
                assert response.status_code == 200, response.text
                body = response.json()
                expected = sorted(
                    name
                    for (name,) in operator.rows(
                        "SELECT name FROM widgets WHERE strpos(lower(name), lower(%s)) > 0 "
                        "AND (%s::uuid IS NULL OR client_id = %s)",
                        search,
                        client_id,
                        client_id,
                    )
                )
                assert sorted(item["name"] for item in body["items"]) == expected, (search, client_id)
                assert body["total"] == len(expected), (search, client_id)
        # and the index holds exactly each name's pieces, counted
        assert (
            operator.rows(
                "SELECT trigram, client_id, name_key, id FROM widgets, unnest(name_trigrams(name_key)) AS trigram "
                "EXCEPT ALL SELECT * FROM widget_name_trigrams"
            )
            == []
        )
        assert (
            operator.rows(
                "SELECT * FROM widget_name_trigrams EXCEPT ALL "
                "SELECT trigram, client_id, name_key, id FROM widgets, unnest(name_trigrams(name_key)) AS trigram"
            )
            == []
        )
        assert (
            operator.rows(
                "SELECT trigram, count(*)::int FROM widget_name_trigrams GROUP BY trigram "
                "EXCEPT SELECT trigram, n FROM widget_trigram_counts"
            )
            == []
        )
        assert operator.count("widget_trigram_counts") == len(
            {t for (t,) in operator.rows("SELECT DISTINCT trigram FROM widget_name_trigrams")}
        )

    # Given widgets made through the API, the factories and one multi-row INSERT, most names
    # sharing pieces ("sales" in 8 of 9, so that a search of it counts by testing every name)
    acme, zeta = await make_client(db, name="Acme"), await make_client(db, name="Zeta")
    first = await create(operator, acme, fake_n8n.url, name="Sales bot")
    await create(operator, acme, fake_n8n.url, name="Ölçü Straße")
    for name in ("Sales Desk", "sales desk 2"):
        await make_widget(db, client=zeta, name=name)
    operator.rows(
        "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) "
        "SELECT %s, 'Sales ' || i, '{}', %s, md5(i::text) FROM generate_series(1, 5) AS i RETURNING id",
        zeta.id,
        fake_n8n.url,
    )
    await assert_searches_match_the_names()

    # When widgets are renamed (through the API, in another case only, and in a rolled-back change)
    response = await operator.client.patch(
        f"/v1/admin/widgets/{first['id']}", json={"name": "Billing helper"}, headers=operator.auth
    )
    assert response.status_code == 200, response.text
    operator.rows("UPDATE widgets SET name = 'SALES DESK' WHERE name = 'Sales Desk' RETURNING id")
    with psycopg.connect(operator.db_url) as conn:
        conn.execute("UPDATE widgets SET name = 'Gone' WHERE name = 'Sales 1'")
        conn.rollback()
    # and health checks write other columns
    operator.rows("UPDATE widgets SET health_status = 'failing' RETURNING id")
    # Then every search still finds exactly the names holding it
    await assert_searches_match_the_names()

    # And so after deletes: one widget, a bulk delete, a client with its widgets
    deleted = await operator.client.delete(f"/v1/admin/widgets/{first['id']}", headers=operator.auth)
    assert deleted.status_code == 200, deleted.text
    bulk = [str(row[0]) for row in operator.rows("SELECT id FROM widgets WHERE name LIKE 'Sales %%' LIMIT 2")]
    response = await operator.client.post(
        "/v1/admin/widgets/bulk-delete", json={"ids": bulk}, headers=operator.auth
    )
    assert response.status_code == 200, response.text
    await assert_searches_match_the_names()
    response = await operator.client.delete(f"/v1/admin/clients/{zeta.id}", headers=operator.auth)
    assert response.status_code == 200, response.text
    await assert_searches_match_the_names()
    with psycopg.connect(operator.db_url) as conn:
        conn.execute("TRUNCATE widgets CASCADE")
    assert (operator.count("widget_name_trigrams"), operator.count("widget_trigram_counts")) == (0, 0)


async def test_list_filters_searches_and_pages(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given two clients' widgets of every kind
    acme, zeta = await make_client(db, name="Acme"), await make_client(db, name="Zeta")
    for name in ("Sales bot", "support Desk", "Billing"):
        await create(operator, acme, fake_n8n.url, name=name)
    demo, _ = await make_widget(db, client=zeta, is_demo=True, is_active=False)
    operator.rows(
        "UPDATE widgets SET name = 'Demo 100%%', health_status = 'failing' WHERE id = %s RETURNING id",
        demo.id,
    )

    async def names(**params: Any) -> tuple[list[str], int]:
        response = await operator.client.get("/v1/admin/widgets", params=params, headers=operator.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        return [item["name"] for item in body["items"]], body["total"]

    # Then the list is sorted by client, then name (case-insensitive)
    acme_names = ["Billing", "Sales bot", "support Desk"]
    expected = [*acme_names, "Demo 100%"] if str(acme.id) < str(zeta.id) else ["Demo 100%", *acme_names]
    assert await names() == (expected, 4)
    assert await names(client_id=str(acme.id)) == (acme_names, 3)
    assert await names(is_demo="true") == (["Demo 100%"], 1)
    assert await names(is_demo="false", is_active="true") == (acme_names, 3)
    assert await names(health="failing") == (["Demo 100%"], 1)
    assert await names(health="healthy") == (acme_names, 3)
    assert await names(health="unknown") == ([], 0)
    assert await names(search="SUPPORT") == (["support Desk"], 1)
    assert await names(search="100%") == (["Demo 100%"], 1)
    assert await names(search="_") == ([], 0)  # LIKE wildcards are matched literally
    # and pages carry the total of every match
    assert await names(client_id=str(acme.id), limit=2) == (["Billing", "Sales bot"], 3)
    assert await names(client_id=str(acme.id), limit=2, offset=2) == (["support Desk"], 3)
    assert await names(client_id=str(acme.id), offset=10) == ([], 3)
    assert await names(search="S", limit=1) == (["Sales bot"], 2)
    assert await names(search="s", limit=1, offset=1) == (["support Desk"], 2)
    assert await names(search="s", offset=5) == ([], 2)
    # and a bad filter is a 422
    bad = await operator.client.get("/v1/admin/widgets", params={"health": "sick"}, headers=operator.auth)
    assert bad.status_code == 422


async def test_each_list_item_is_the_widget_as_get_shows_it_without_its_config(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a probed widget, a demo widget with an expiry, and a widget never checked
    client = await make_client(db, name="Acme")
    probed = await create(operator, client, fake_n8n.url, name="Probed")
    demo = (
        await operator.client.post(
            "/v1/admin/demo-widgets",
            json={"client_id": str(client.id), "name": "Démo ✓", "webhook_url": fake_n8n.url},
            headers=operator.auth,
        )
    ).json()
    plain, _ = await make_widget(db, client=client)

    # When the admin lists them
    response = await operator.client.get("/v1/admin/widgets", headers=operator.auth)

    # Then each item is what GET answers for that widget, but its config
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {item["id"] for item in items} == {probed["id"], demo["id"], str(plain.id)}
    for item in items:
        one = (await operator.client.get(f"/v1/admin/widgets/{item['id']}", headers=operator.auth)).json()
        del one["config"]
        assert item == one
    assert next(i for i in items if i["id"] == demo["id"])["demo_url"].endswith(
        f"/v1/widgets/{demo['id']}/demo"
    )
    # and the answer is, byte for byte, the documented page model's own serialisation of itself
    page = Page[WidgetSummary].model_validate_json(response.content)
    assert page.model_dump_json().encode() == response.content
    assert response.headers["content-type"] == "application/json"


async def test_an_empty_page_still_carries_the_total(operator: OperatorApi, db: Database) -> None:
    client = await make_client(db)
    await make_widget(db, client=client)
    for params in ({"offset": 1}, {"search": "nothing like it"}, {"client_id": str(uuid.uuid4())}):
        body = (await operator.client.get("/v1/admin/widgets", params=params, headers=operator.auth)).json()
        assert (body["items"], body["total"]) == ([], 0 if "offset" not in params else 1)


@pytest.mark.parametrize(
    ("query", "loc", "kind"),
    [
        ("limit=0", ["query", "limit"], "greater_than_equal"),
        ("limit=201", ["query", "limit"], "less_than_equal"),
        ("offset=-1", ["query", "offset"], "greater_than_equal"),
        ("client_id=nope", ["query", "client_id"], "uuid_parsing"),
        ("is_demo=maybe", ["query", "is_demo"], "bool_parsing"),
        ("search=" + "x" * 201, ["query", "search"], "string_too_long"),
    ],
)
async def test_bad_list_parameters_answer_422_naming_the_parameter(
    operator: OperatorApi, query: str, loc: list[str], kind: str
) -> None:
    response = await operator.client.get(f"/v1/admin/widgets?{query}", headers=operator.auth)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [(d["loc"], d["type"]) for d in error["details"]] == [(loc, kind)]


async def test_patch_merges_config_and_null_restores_the_default(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    # Given a widget with a customised config
    client = await make_client(db)
    created = await create(
        operator,
        client,
        fake_n8n.url,
        config={
            "title": "Acme",
            "subtitle": "We answer fast",
            "theme": {"primary_color": "#000000", "corner_radius": 4},
            "strings": {"send": "Go", "retry": "Again"},
            "rate_limit": {"per_session_per_minute": 5},
            "starter_prompts": ["Hours?"],
        },
    )
    received = len(fake_n8n.received)
    # When a patch changes some keys, nested ones too, and nulls others
    response = await operator.client.patch(
        f"/v1/admin/widgets/{created['id']}",
        json={
            "config": {
                "subtitle": None,
                "theme": {"corner_radius": 20, "primary_color": None},
                "strings": {"send": None, "typing": "…"},
                "rate_limit": {"per_ip_per_minute": 100},
                "retention_days": 30,
                "low_confidence_threshold": 0.7,
            },
            "is_active": False,
        },
        headers=operator.auth,
    )
    # Then the result is the merge, and the nulled keys are back to their defaults
    assert response.status_code == 200, response.text
    config = response.json()["config"]
    assert config["title"] == "Acme"
    assert config["subtitle"] == ""
    assert config["theme"]["corner_radius"] == 20 and config["theme"]["primary_color"] == "#1d4ed8"
    assert config["strings"] == {"retry": "Again", "typing": "…"}
    assert config["rate_limit"]["per_session_per_minute"] == 5
    assert config["rate_limit"]["per_ip_per_minute"] == 100
    assert config["starter_prompts"] == ["Hours?"]
    assert config["retention_days"] == 30 and config["low_confidence_threshold"] == 0.7
    assert response.json()["is_active"] is False
    # and the webhook did not change, so it was not probed
    assert response.json()["webhook_test"] is None and len(fake_n8n.received) == received
    # and it is what GET reads back
    again = await operator.client.get(f"/v1/admin/widgets/{created['id']}", headers=operator.auth)
    assert again.json()["config"] == config
    # and retention can be switched off again with null
    cleared = await operator.client.patch(
        f"/v1/admin/widgets/{created['id']}", json={"config": {"retention_days": None}}, headers=operator.auth
    )
    assert cleared.json()["config"]["retention_days"] is None


@pytest.mark.parametrize(
    ("config", "loc"),
    [
        ({"colour": "red"}, ["body", "config", "colour"]),
        ({"theme": {"primary_colour": "#000"}}, ["body", "config", "theme", "primary_colour"]),
        ({"rate_limit": {"per_minute": 3}}, ["body", "config", "rate_limit", "per_minute"]),
    ],
)
async def test_unknown_config_keys_answer_422_naming_the_key(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n, config: dict[str, Any], loc: list[str]
) -> None:
    client = await make_client(db)
    # On create
    created = await operator.client.post(
        "/v1/admin/widgets",
        json={"client_id": str(client.id), "name": "W", "webhook_url": fake_n8n.url, "config": config},
        headers=operator.auth,
    )
    assert created.status_code == 422
    assert loc in [d["loc"] for d in created.json()["error"]["details"]]
    assert loc[-1] in created.json()["error"]["message"]
    assert operator.count("widgets") == 0
    # and on change, where nothing is stored
    widget, _ = await make_widget(db, client=client)
    before = operator.rows("SELECT config, updated_at FROM widgets WHERE id = %s", widget.id)
    patched = await operator.client.patch(
        f"/v1/admin/widgets/{widget.id}", json={"config": config}, headers=operator.auth
    )
    assert patched.status_code == 422
    assert loc in [d["loc"] for d in patched.json()["error"]["details"]]
    assert loc[-1] in patched.json()["error"]["message"]
    assert operator.rows("SELECT config, updated_at FROM widgets WHERE id = %s", widget.id) == before


async def test_unknown_strings_and_invalid_values_answer_422(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    client = await make_client(db)
    widget, _ = await make_widget(db, client=client)
    for config, named in (
        ({"strings": {"sendd": "Go"}}, "sendd"),
        ({"retention_days": 0}, "retention_days"),
        ({"retention_days": 3651}, "retention_days"),
        ({"low_confidence_threshold": 1.5}, "low_confidence_threshold"),
        ({"theme": {"primary_color": "red"}}, "primary_color"),
        ({"position": "top"}, "position"),
    ):
        for response in (
            await operator.client.patch(
                f"/v1/admin/widgets/{widget.id}", json={"config": config}, headers=operator.auth
            ),
            await operator.client.post(
                "/v1/admin/widgets",
                json={
                    "client_id": str(client.id),
                    "name": "W",
                    "webhook_url": fake_n8n.url,
                    "config": config,
                },
                headers=operator.auth,
            ),
        ):
            assert response.status_code == 422, (config, response.text)
            assert named in response.text, config
    # and fields that cannot be cleared, or unknown fields, are refused too
    for body in ({"name": None}, {"webhook_url": None}, {"config": None}, {"colour": "red"}, {"name": " "}):
        response = await operator.client.patch(
            f"/v1/admin/widgets/{widget.id}", json=body, headers=operator.auth
        )
        assert response.status_code == 422, body


async def test_delete_removes_the_widget_and_its_rows_and_counts_them(
    operator: OperatorApi, db: Database
) -> None:
    # Given two widgets, each with chat logs, analytics and webhook errors
    doomed, _ = await make_widget(db)
    kept, _ = await make_widget(db)
    add_dependent_rows(operator, doomed.id, logs=3)
    add_dependent_rows(operator, kept.id, logs=2)
    # When one is deleted
    response = await operator.client.delete(f"/v1/admin/widgets/{doomed.id}", headers=operator.auth)
    # Then the answer counts what went, and exactly that went
    assert response.status_code == 200, response.text
    assert response.json() == {
        "clients": 0,
        "widgets": 1,
        "chat_logs": 3,
        "analytics": 1,
        "webhook_errors": 1,
        "users": 0,
    }
    assert operator.count("widgets", "id = %s", doomed.id) == 0
    assert dependent_counts(operator, doomed.id) == (0, 0, 0)
    # and the other widget's rows are untouched
    assert dependent_counts(operator, kept.id) == (2, 1, 1)
    # and deleting it again is a 404
    again = await operator.client.delete(f"/v1/admin/widgets/{doomed.id}", headers=operator.auth)
    assert again.status_code == 404


async def test_bulk_delete_counts_what_went_and_reports_missing_ids(
    operator: OperatorApi, db: Database
) -> None:
    # Given three widgets with rows
    first, _ = await make_widget(db)
    second, _ = await make_widget(db)
    kept, _ = await make_widget(db)
    for widget in (first, second, kept):
        add_dependent_rows(operator, widget.id)
    missing = uuid.uuid4()
    # When two of them and an id that does not exist are deleted at once
    response = await operator.client.post(
        "/v1/admin/widgets/bulk-delete",
        json={"ids": [str(first.id), str(missing), str(second.id), str(first.id)]},
        headers=operator.auth,
    )
    # Then both went with their rows, the missing id is reported, and the third is untouched
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["widgets"] == 2 and body["chat_logs"] == 4 and body["analytics"] == 2
    assert body["webhook_errors"] == 2 and body["not_found"] == [str(missing)]
    assert operator.count("widgets") == 1
    assert dependent_counts(operator, kept.id) == (2, 1, 1)
    # and the list of ids is bounded
    for ids in ([], [str(uuid.uuid4()) for _ in range(1001)]):
        refused = await operator.client.post(
            "/v1/admin/widgets/bulk-delete", json={"ids": ids}, headers=operator.auth
        )
        assert refused.status_code == 422


async def test_the_embed_snippet_is_one_tag(operator: OperatorApi, db: Database) -> None:
    widget, _ = await make_widget(db)
    response = await operator.client.get(f"/v1/admin/widgets/{widget.id}/embed", headers=operator.auth)
    assert response.status_code == 200
    assert response.json() == {
        "snippet": f'<script src="http://platform.test/widget.js" data-widget-id="{widget.id}" defer></script>',
        "widget_js_url": "http://platform.test/widget.js",
        "api_base": "http://platform.test",
    }


async def test_a_client_viewer_is_refused(operator: OperatorApi, db: Database, fake_n8n: FakeN8n) -> None:
    # Given a client viewer of the widget's own client
    widget, _ = await make_widget(db)
    await make_user(
        db,
        email="viewer@client.test",
        password="viewer password 1",
        role="client",
        client_id=widget.client_id,
    )
    viewer = {"Authorization": f"Bearer {await operator.sign_in('viewer@client.test', 'viewer password 1')}"}
    # Then every widget route refuses it
    for method, path, body in (
        ("GET", "/v1/admin/widgets", None),
        ("GET", f"/v1/admin/widgets/{widget.id}", None),
        (
            "POST",
            "/v1/admin/widgets",
            {"client_id": str(widget.client_id), "name": "x", "webhook_url": fake_n8n.url},
        ),
        ("PATCH", f"/v1/admin/widgets/{widget.id}", {"name": "mine"}),
        ("POST", f"/v1/admin/widgets/{widget.id}/rotate-secret", None),
        ("POST", f"/v1/admin/widgets/{widget.id}/test-webhook", None),
        ("DELETE", f"/v1/admin/widgets/{widget.id}", None),
    ):
        response = await operator.client.request(method, path, json=body, headers=viewer)
        assert response.status_code == 403, (method, path, response.text)
        assert "widget_secret" not in response.text
    assert operator.rows("SELECT name FROM widgets WHERE id = %s", widget.id) == [(widget.name,)]
    assert fake_n8n.received == []


async def test_the_snippet_names_the_api_base_only_when_the_api_is_elsewhere(db: Database) -> None:
    widget, _ = await make_widget(db)
    elsewhere = widgets.embed(
        widget, widget_js_base="https://cdn.example.com/", api_base="https://api.example.com"
    )
    assert elsewhere.snippet == (
        f'<script src="https://cdn.example.com/widget.js" data-widget-id="{widget.id}" '
        'data-api-base="https://api.example.com" defer></script>'
    )
    same = widgets.embed(
        widget, widget_js_base="https://chat.example.com", api_base="https://CHAT.example.com/"
    )
    assert "data-api-base" not in same.snippet and same.api_base == "https://CHAT.example.com"


async def test_no_log_line_of_a_whole_create_rotate_test_relay_run_carries_a_secret(
    operator: OperatorApi, api: PublicApi, db: Database, fake_n8n: FakeN8n, platform_logs: LogCapture
) -> None:
    # Given a widget created, rotated and tested through the admin API
    client = await make_client(db)
    created = await create(operator, client, fake_n8n.url)
    widget_id = created["id"]
    rotated = await operator.client.post(
        f"/v1/admin/widgets/{widget_id}/rotate-secret", headers=operator.auth
    )
    secrets = {created["widget_secret"], rotated.json()["widget_secret"]}
    await operator.client.post(f"/v1/admin/widgets/{widget_id}/test-webhook", headers=operator.auth)
    # When visitors chat through it, answered and failing
    widget = await db.run(widget_rows.get_widget, widget_id=uuid.UUID(widget_id))
    assert widget is not None
    _, token = await api.start_session(widget)
    answered = await api.send(widget, token, "Hello")
    fake_n8n.reply({"message": "Error in workflow"}, status=500)
    failed = await api.send(widget, token, "Hello again")
    # Then the relay worked, and neither secret is in any log line or visitor answer
    assert (answered.status_code, failed.status_code) == (200, 502)
    everything = str(platform_logs.lines) + answered.text + failed.text
    assert platform_logs.named("webhook failed")
    for secret in secrets:
        assert secret not in everything


async def test_the_unfiltered_totals_follow_every_insert_and_delete_and_only_committed_ones(
    operator: OperatorApi, db: Database, fake_n8n: FakeN8n
) -> None:
    async def totals() -> tuple[int, int]:
        found = []
        for path in ("/v1/admin/widgets", "/v1/admin/clients"):
            response = await operator.client.get(path, params={"limit": 1}, headers=operator.auth)
            assert response.status_code == 200, response.text
            found.append(response.json()["total"])
        return found[0], found[1]

    # Given clients and widgets made through the API, the factories (one INSERT each) and one
    # multi-row INSERT
    acme, zeta = await make_client(db, name="Acme"), await make_client(db, name="Zeta")
    first = await create(operator, acme, fake_n8n.url, name="First")
    for _ in range(3):
        await make_widget(db, client=zeta)
    operator.rows(
        "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) "
        "SELECT %s, 'Bulk ' || i, '{}', %s, md5(i::text) FROM generate_series(1, 5) AS i RETURNING id",
        zeta.id,
        fake_n8n.url,
    )
    assert await totals() == (9, 2)

    # When an insert is rolled back, and another is open in a transaction not yet committed
    with psycopg.connect(operator.db_url) as conn:
        conn.execute(
            "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) "
            "VALUES (%s, 'Rolled back', '{}', 'http://127.0.0.1:9/x', 'x')",
            (acme.id,),
        )
        conn.rollback()
    pending = psycopg.connect(operator.db_url)
    pending.execute("INSERT INTO clients (name) VALUES ('Pending')")

    # Then neither counts
    assert await totals() == (9, 2)
    pending.commit()
    pending.close()
    assert await totals() == (9, 3)

    # And deletes move them: one widget, a bulk delete, a client with its widgets (a cascade)
    deleted = await operator.client.delete(f"/v1/admin/widgets/{first['id']}", headers=operator.auth)
    assert deleted.status_code == 200, deleted.text
    assert await totals() == (8, 3)
    bulk = [str(row[0]) for row in operator.rows("SELECT id FROM widgets WHERE name LIKE 'Bulk %%' LIMIT 2")]
    response = await operator.client.post(
        "/v1/admin/widgets/bulk-delete", json={"ids": bulk}, headers=operator.auth
    )
    assert response.status_code == 200, response.text
    assert await totals() == (6, 3)
    response = await operator.client.delete(f"/v1/admin/clients/{zeta.id}", headers=operator.auth)
    assert response.status_code == 200, response.text
    assert await totals() == (0, 2)
    # and each total is the table's count
    assert (operator.count("widgets"), operator.count("clients")) == (0, 2)


@pytest.mark.parametrize("first_table", ["clients", "widgets"])
async def test_writers_of_clients_and_widgets_in_opposite_orders_do_not_deadlock(
    operator: OperatorApi, db: Database, first_table: str
) -> None:
    # Given a client with widgets to delete, a client to add a widget to, and an open transaction
    # that has written to one of the two tables and will write to the other
    doomed, kept = await make_client(db, name="Doomed"), await make_client(db, name="Kept")
    for _ in range(2):
        await make_widget(db, client=doomed)
    add_client = "INSERT INTO clients (name) VALUES ('New')"
    add_widget = (
        "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret) "
        f"VALUES ('{kept.id}', 'Late', '{{}}', 'http://127.0.0.1:9/x', 'x')"
    )
    writes = [add_client, add_widget] if first_table == "clients" else [add_widget, add_client]
    first = psycopg.connect(operator.db_url)
    first.execute(writes[0])

    # When another transaction deletes a client (and so, by the cascade, its widgets) and waits
    failure: list[BaseException] = []

    def delete_client() -> None:
        try:
            with psycopg.connect(operator.db_url) as second:
                second.execute("DELETE FROM clients WHERE id = %s", (doomed.id,))
        except BaseException as exc:  # reported by the assertion below
            failure.append(exc)

    deleter = threading.Thread(target=delete_client)
    deleter.start()
    for _ in range(500):  # until it waits for a lock
        waiting = operator.rows(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM clients%%'"
        )
        if waiting[0][0]:
            break
        await asyncio.sleep(0.01)
    # and the first then writes to the other table and commits
    first.execute(writes[1])
    first.commit()
    first.close()
    deleter.join(timeout=30)

    # Then both committed (neither was a deadlock's victim) and the kept totals are the counts
    assert not deleter.is_alive() and failure == []
    assert (operator.count("clients"), operator.count("widgets")) == (2, 1)
    assert operator.rows("SELECT table_name, n FROM list_row_counts ORDER BY 1") == [
        ("clients", 2),
        ("widgets", 1),
    ]
