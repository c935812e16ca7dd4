"""Admin API, users: admins and client viewers created with a chosen or generated password, listed,
changed (a new password, role or client ends their sessions), deleted; never the last admin."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import uuid4

import httpx
import pytest

from shared.api import admin, auth
from shared.api.app import build_app
from shared.db import Database
from shared.models import Client, Role
from shared.services.auth import verify_password
from tests.conftest import make_settings
from tests.factories import make_client
from tests.integration.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, OperatorApi, make_user

pytestmark = pytest.mark.anyio

PASSWORD = "a long enough passphrase"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def me(operator: OperatorApi, token: str) -> httpx.Response:
    return await operator.client.get("/v1/auth/me", headers=bearer(token))


async def test_create_an_admin_with_a_chosen_password(operator: OperatorApi) -> None:
    # When the admin creates another admin with a password
    response = await operator.client.post(
        "/v1/admin/users",
        json={"email": " New.Admin@Agency.Test ", "role": "admin", "password": PASSWORD},
        headers=operator.auth,
    )

    # Then the user is answered without any password, and can sign in with it
    assert response.status_code == 201, response.text
    body = response.json()
    assert body == {
        "id": body["id"],
        "email": "new.admin@agency.test",
        "role": "admin",
        "client_id": None,
        "last_login_at": None,
        "created_at": body["created_at"],
        "password": None,
    }
    token = await operator.sign_in("new.admin@agency.test", PASSWORD)
    assert (await me(operator, token)).json()["id"] == body["id"]
    # And the stored hash is no password
    [(stored,)] = operator.rows("SELECT password_hash FROM users WHERE id = %s", body["id"])
    assert PASSWORD not in stored and stored.startswith("scrypt$")


async def test_create_a_client_viewer_with_a_generated_password_shown_once(
    operator: OperatorApi, db: Database
) -> None:
    # Given a client
    client = await make_client(db)

    # When the admin creates its viewer without a password
    response = await operator.client.post(
        "/v1/admin/users",
        json={"email": "viewer@client.test", "role": "client", "client_id": str(client.id)},
        headers=operator.auth,
    )

    # Then a generated password comes back, once, and signs the viewer in
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["role"], body["client_id"]) == ("client", str(client.id))
    generated = body["password"]
    assert isinstance(generated, str) and len(generated) >= 12
    token = await operator.sign_in("viewer@client.test", generated)
    assert (await me(operator, token)).json()["role"] == "client"

    # And no later read shows it again, nor any hash
    got = (await operator.client.get(f"/v1/admin/users/{body['id']}", headers=operator.auth)).json()
    listed = (await operator.client.get("/v1/admin/users", headers=operator.auth)).json()
    for shown in (got, *listed["items"]):
        assert "password" not in shown and "password_hash" not in shown
        assert generated not in str(shown)


async def test_an_email_that_exists_is_a_conflict_naming_it(operator: OperatorApi) -> None:
    response = await operator.client.post(
        "/v1/admin/users",
        json={"email": ADMIN_EMAIL.upper(), "role": "admin", "password": PASSWORD},
        headers=operator.auth,
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "email_taken"
    assert ADMIN_EMAIL in error["message"]
    assert operator.count("users") == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"email": "v@c.test", "role": "client"}, "validation_error"),  # a viewer needs a client
        ({"email": "a@c.test", "role": "admin", "client_id": "CLIENT"}, "validation_error"),
        ({"email": "v@c.test", "role": "client", "client_id": "UNKNOWN"}, "unknown_client"),
        ({"email": "a@c.test", "role": "admin", "password": "short"}, "weak_password"),
        ({"email": "a@c.test", "role": "owner"}, "validation_error"),
        ({"email": "not-an-email", "role": "admin"}, "validation_error"),
        ({"email": "a@c.test", "role": "admin", "password_hash": "x"}, "validation_error"),
    ],
)
async def test_a_bad_new_user_is_refused(
    operator: OperatorApi, db: Database, body: dict[str, Any], code: str
) -> None:
    client = await make_client(db)
    unknown = uuid4()
    body = {k: {"CLIENT": str(client.id), "UNKNOWN": str(unknown)}.get(v, v) for k, v in body.items()}
    response = await operator.client.post("/v1/admin/users", json=body, headers=operator.auth)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    if code == "unknown_client":
        assert str(unknown) in error["message"]
    assert operator.count("users") == 1


async def test_list_searches_filters_and_pages(operator: OperatorApi, db: Database) -> None:
    # Given admins and the viewers of two clients
    acme, other = await make_client(db), await make_client(db)
    people: list[tuple[str, Role, Client | None]] = [
        ("b-viewer@acme.test", "client", acme),
        ("a-viewer@acme.test", "client", acme),
        ("viewer@other.test", "client", other),
        ("second@agency.test", "admin", None),
    ]
    for email, role, client in people:
        await make_user(
            db, email=email, password=PASSWORD, role=role, client_id=client.id if client else None
        )

    async def emails(query: str) -> tuple[list[str], int]:
        response = await operator.client.get(f"/v1/admin/users?{query}", headers=operator.auth)
        assert response.status_code == 200, response.text
        return [u["email"] for u in response.json()["items"]], response.json()["total"]

    assert await emails("search=ACME") == (["a-viewer@acme.test", "b-viewer@acme.test"], 2)
    assert await emails("role=admin") == ([ADMIN_EMAIL, "second@agency.test"], 2)
    assert await emails(f"client_id={other.id}") == (["viewer@other.test"], 1)
    assert await emails(f"role=client&client_id={acme.id}&limit=1&offset=1") == (["b-viewer@acme.test"], 2)
    assert await emails("search=nobody") == ([], 0)
    assert await emails("search=_") == ([], 0)  # wildcards match literally
    for bad in ("role=owner", "limit=0", "limit=201", "offset=-1", "client_id=nope"):
        assert (await operator.client.get(f"/v1/admin/users?{bad}", headers=operator.auth)).status_code == 422


async def test_a_password_reset_ends_the_users_sessions(operator: OperatorApi, db: Database) -> None:
    # Given a viewer signed in
    client = await make_client(db)
    viewer = await make_user(db, email="v@client.test", password=PASSWORD, role="client", client_id=client.id)
    old_token = await operator.sign_in("v@client.test", PASSWORD)

    # When the admin resets its password
    response = await operator.client.patch(
        f"/v1/admin/users/{viewer.id}", json={"password": "a brand new passphrase"}, headers=operator.auth
    )

    # Then the old token no longer works, the old password neither, and the new one does
    assert response.status_code == 200, response.text
    assert "password" not in response.json()
    revoked = await me(operator, old_token)
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "session_revoked"
    refused = await operator.client.post(
        "/v1/auth/login", json={"email": "v@client.test", "password": PASSWORD}
    )
    assert refused.status_code == 401
    assert (await me(operator, await operator.sign_in("v@client.test", "a brand new passphrase"))).is_success


async def test_a_weak_reset_password_is_refused_and_changes_nothing(operator: OperatorApi) -> None:
    response = await operator.client.patch(
        f"/v1/admin/users/{operator.admin.id}", json={"password": "short"}, headers=operator.auth
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "weak_password"
    assert (await me(operator, operator.admin_token)).status_code == 200


async def test_changing_role_and_client(operator: OperatorApi, db: Database) -> None:
    # Given a second admin, signed in, and two clients
    acme, other = await make_client(db), await make_client(db)
    second = await make_user(db, email="second@agency.test", password=PASSWORD)
    token = await operator.sign_in("second@agency.test", PASSWORD)
    url = f"/v1/admin/users/{second.id}"

    # When it is made a viewer without saying of which client, or of an unknown one, it is refused
    no_client = await operator.client.patch(url, json={"role": "client"}, headers=operator.auth)
    assert (no_client.status_code, no_client.json()["error"]["code"]) == (422, "client_required")
    unknown = await operator.client.patch(
        url, json={"role": "client", "client_id": str(uuid4())}, headers=operator.auth
    )
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (422, "unknown_client")
    assert (await me(operator, token)).status_code == 200  # nothing changed yet

    # When it is made a viewer of a client
    demoted = await operator.client.patch(
        url, json={"role": "client", "client_id": str(acme.id)}, headers=operator.auth
    )

    # Then it is one, and its admin session ended
    assert demoted.status_code == 200, demoted.text
    assert (demoted.json()["role"], demoted.json()["client_id"]) == ("client", str(acme.id))
    assert (await me(operator, token)).status_code == 401
    token = await operator.sign_in("second@agency.test", PASSWORD)

    # When it moves to another client, its session ends again
    moved = await operator.client.patch(url, json={"client_id": str(other.id)}, headers=operator.auth)
    assert moved.json()["client_id"] == str(other.id)
    assert (await me(operator, token)).status_code == 401
    token = await operator.sign_in("second@agency.test", PASSWORD)

    # And a viewer cannot lose its client, nor an admin gain one
    cleared = await operator.client.patch(url, json={"client_id": None}, headers=operator.auth)
    assert (cleared.status_code, cleared.json()["error"]["code"]) == (422, "client_required")
    both = await operator.client.patch(
        url, json={"role": "admin", "client_id": str(acme.id)}, headers=operator.auth
    )
    assert (both.status_code, both.json()["error"]["code"]) == (422, "admin_has_no_client")

    # When it is made an admin again, it drops its client
    promoted = await operator.client.patch(url, json={"role": "admin"}, headers=operator.auth)
    assert (promoted.json()["role"], promoted.json()["client_id"]) == ("admin", None)

    # And an email change keeps the session
    token = await operator.sign_in("second@agency.test", PASSWORD)
    renamed = await operator.client.patch(url, json={"email": "Renamed@Agency.Test"}, headers=operator.auth)
    assert renamed.json()["email"] == "renamed@agency.test"
    assert (await me(operator, token)).status_code == 200
    taken = await operator.client.patch(url, json={"email": ADMIN_EMAIL}, headers=operator.auth)
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "email_taken")
    assert ADMIN_EMAIL in taken.json()["error"]["message"]


@pytest.mark.parametrize(
    "change", [{"email": None}, {"role": None}, {"password": None}, {"token_version": 0}, {"role": "owner"}]
)
async def test_a_bad_change_is_refused(operator: OperatorApi, change: dict[str, Any]) -> None:
    response = await operator.client.patch(
        f"/v1/admin/users/{operator.admin.id}", json=change, headers=operator.auth
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_the_last_admin_cannot_be_deleted_or_demoted(operator: OperatorApi, db: Database) -> None:
    # Given one admin and a client
    client = await make_client(db)
    url = f"/v1/admin/users/{operator.admin.id}"

    # When it tries to delete or demote itself, it is refused
    deleted = await operator.client.delete(url, headers=operator.auth)
    demoted = await operator.client.patch(
        url, json={"role": "client", "client_id": str(client.id)}, headers=operator.auth
    )
    for response in (deleted, demoted):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "last_admin"
    assert operator.rows("SELECT role FROM users") == [("admin",)]
    assert (await me(operator, operator.admin_token)).status_code == 200

    # When a second admin exists, the first can go, and its session with it
    second = await make_user(db, email="second@agency.test", password=PASSWORD)
    gone = await operator.client.delete(url, headers=operator.auth)
    assert gone.status_code == 200, gone.text
    assert gone.json()["users"] == 1
    assert (await me(operator, operator.admin_token)).status_code == 401

    # And then the second is the last one
    token = await operator.sign_in("second@agency.test", PASSWORD)
    last = await operator.client.delete(f"/v1/admin/users/{second.id}", headers=bearer(token))
    assert last.json()["error"]["code"] == "last_admin"


async def test_two_admins_deleting_each_other_at_once_leave_one(operator: OperatorApi, db: Database) -> None:
    # Given two admins, each signed in on its own function process (its own database connection)
    second = await make_user(db, email="second@agency.test", password=PASSWORD)
    other_app = build_app(
        title="operator 2", routers=[auth.router, *admin.ROUTERS], settings=make_settings(operator.db_url)
    )
    transport = httpx.ASGITransport(app=other_app, client=("203.0.113.10", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://platform.test") as other_process:
        second_token = await operator.sign_in("second@agency.test", PASSWORD)
        for _ in range(5):
            # When each deletes the other at the same moment
            first_deletes, second_deletes = await asyncio.gather(
                operator.client.delete(f"/v1/admin/users/{second.id}", headers=operator.auth),
                other_process.delete(f"/v1/admin/users/{operator.admin.id}", headers=bearer(second_token)),
            )

            # Then exactly one delete went through, and one admin is left
            statuses = sorted([first_deletes.status_code, second_deletes.status_code])
            assert statuses in ([200, 401], [200, 409]), (first_deletes.text, second_deletes.text)
            assert operator.count("users", "role = 'admin'") == 1
            # (again, with the deleted admin back)
            if operator.count("users", "id = %s", second.id) == 0:
                second = await make_user(db, email="second@agency.test", password=PASSWORD)
                second_token = await operator.sign_in("second@agency.test", PASSWORD)
            else:
                operator.admin = await make_user(db, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
                operator.admin_token = await operator.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    await other_app.state.resources.aclose()


async def test_deleting_a_viewer(operator: OperatorApi, db: Database) -> None:
    client = await make_client(db)
    viewer = await make_user(db, email="v@client.test", password=PASSWORD, role="client", client_id=client.id)
    token = await operator.sign_in("v@client.test", PASSWORD)
    response = await operator.client.delete(f"/v1/admin/users/{viewer.id}", headers=operator.auth)
    assert response.status_code == 200
    assert response.json() == {
        "clients": 0,
        "widgets": 0,
        "chat_logs": 0,
        "analytics": 0,
        "webhook_errors": 0,
        "users": 1,
    }
    assert (await me(operator, token)).status_code == 401
    assert operator.count("clients") == 1
    missing = await operator.client.delete(f"/v1/admin/users/{viewer.id}", headers=operator.auth)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "user_not_found")


async def test_an_unknown_user_is_404(operator: OperatorApi) -> None:
    url = f"/v1/admin/users/{uuid4()}"
    for response in (
        await operator.client.get(url, headers=operator.auth),
        await operator.client.patch(url, json={"email": "x@y.test"}, headers=operator.auth),
        await operator.client.patch(url, json={"password": PASSWORD}, headers=operator.auth),
        await operator.client.delete(url, headers=operator.auth),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "user_not_found"


async def test_every_user_route_needs_an_admin(operator: OperatorApi, db: Database) -> None:
    # Given a client viewer signed in
    client = await make_client(db)
    viewer = await make_user(db, email="v@client.test", password=PASSWORD, role="client", client_id=client.id)
    headers = bearer(await operator.sign_in("v@client.test", PASSWORD))
    admin_url = f"/v1/admin/users/{operator.admin.id}"
    calls = [
        ("GET", "/v1/admin/users", None),
        ("POST", "/v1/admin/users", {"email": "me2@client.test", "role": "admin", "password": PASSWORD}),
        ("GET", admin_url, None),
        ("PATCH", f"/v1/admin/users/{viewer.id}", {"role": "admin"}),
        ("PATCH", admin_url, {"password": PASSWORD}),
        ("DELETE", admin_url, None),
    ]
    for method, path, body in calls:
        # Then it is refused (403), as is anyone not signed in (401)
        as_viewer = await operator.client.request(method, path, json=body, headers=headers)
        assert as_viewer.status_code == 403, (method, path)
        assert (await operator.client.request(method, path, json=body)).status_code == 401
    # And nothing changed
    assert sorted(operator.rows("SELECT email, role FROM users")) == [
        (ADMIN_EMAIL, "admin"),
        ("v@client.test", "client"),
    ]
    [(stored,)] = operator.rows("SELECT password_hash FROM users WHERE email = %s", ADMIN_EMAIL)
    assert not verify_password(PASSWORD, stored)
