"""Sign-in: tokens, who they belong to, and what ends them."""

from __future__ import annotations

import pytest

from shared.db import Database
from tests.integration.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, OperatorApi, make_user

pytestmark = pytest.mark.anyio


async def test_login_answers_a_token_and_the_user(operator: OperatorApi) -> None:
    response = await operator.client.post(
        "/v1/auth/login", json={"email": ADMIN_EMAIL.upper(), "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["user"] == {
        "id": str(operator.admin.id),
        "email": ADMIN_EMAIL,
        "role": "admin",
        "client_id": None,
        "last_login_at": body["user"]["last_login_at"],
        "created_at": body["user"]["created_at"],
    }
    me = await operator.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["email"] == ADMIN_EMAIL


async def test_a_wrong_email_and_a_wrong_password_look_the_same(operator: OperatorApi) -> None:
    wrong_password = await operator.client.post(
        "/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "nope" * 4}
    )
    wrong_email = await operator.client.post(
        "/v1/auth/login", json={"email": "who@x.test", "password": "nope" * 4}
    )
    assert wrong_password.status_code == wrong_email.status_code == 401
    assert wrong_password.json() == wrong_email.json()


async def test_repeated_failures_are_refused_with_429_even_with_the_right_password(
    operator: OperatorApi,
) -> None:
    for _ in range(5):
        await operator.client.post(
            "/v1/auth/login", json={"email": ADMIN_EMAIL, "password": "wrong-password!"}
        )
    refused = await operator.client.post(
        "/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 900  # until the 15-minute window ends
    assert refused.json()["error"]["code"] == "rate_limited"


async def test_changing_the_password_ends_every_earlier_token(operator: OperatorApi) -> None:
    other_browser = await operator.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
    changed = await operator.client.post(
        "/v1/auth/password",
        json={"current_password": ADMIN_PASSWORD, "new_password": "a much better passphrase"},
        headers=operator.auth,
    )
    assert changed.status_code == 200, changed.text
    for token in (operator.admin_token, other_browser):
        ended = await operator.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert ended.status_code == 401
        assert ended.json()["error"]["code"] == "session_revoked"
    fresh = changed.json()["access_token"]
    assert (
        await operator.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {fresh}"})
    ).status_code == 200
    assert await operator.sign_in(ADMIN_EMAIL, "a much better passphrase")


async def test_a_new_password_needs_12_characters_and_the_current_one(operator: OperatorApi) -> None:
    short = await operator.client.post(
        "/v1/auth/password",
        json={"current_password": ADMIN_PASSWORD, "new_password": "short"},
        headers=operator.auth,
    )
    assert short.status_code == 422
    wrong = await operator.client.post(
        "/v1/auth/password",
        json={"current_password": "not it at all", "new_password": "long enough password"},
        headers=operator.auth,
    )
    assert wrong.status_code == 401


async def test_a_deleted_users_token_ends_at_once(operator: OperatorApi, db: Database) -> None:
    await make_user(db, email="viewer@client.test", password="viewer password 1", role="admin")
    token = await operator.sign_in("viewer@client.test", "viewer password 1")
    operator.rows("DELETE FROM users WHERE email = %s RETURNING id", "viewer@client.test")
    assert (
        await operator.client.get("/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    ).status_code == 401
