"""The admin SPA's sign-in, sessions and roles, in headless Chromium against the dev runner."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform
from tests.e2e.spa import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    SESSION_KEY,
    VIEWER_PASSWORD,
    AdminApi,
    check_accessibility,
    make_user,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e


def test_the_root_opens_the_sign_in_page_which_refuses_a_wrong_password(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given the platform's root address
    spa.goto(clean.base_url + "/")
    # Then the SPA's sign-in page opens, and passes the accessibility check
    expect(spa).to_have_url(f"{clean.base_url}/admin/signin")
    expect(spa.get_by_role("heading", name="Sign in")).to_be_visible()
    check_accessibility(spa, "sign-in")
    screenshot(spa, "signin")
    # When a wrong password is given
    spa.get_by_label("Email").fill(ADMIN_EMAIL)
    spa.get_by_label("Password").fill("not the password at all")
    spa.get_by_role("button", name="Sign in").click()
    # Then the error is announced (an alert) and the user stays on the sign-in page
    expect(spa.get_by_role("alert")).to_have_text("The email or the password is wrong.")
    check_accessibility(spa, "sign-in with an error")
    # When the right one is given, the dashboard opens
    spa.get_by_label("Password").fill(ADMIN_PASSWORD)
    spa.get_by_role("button", name="Sign in").click()
    expect(spa.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    expect(spa.get_by_role("navigation", name="Main").get_by_role("link", name="Clients")).to_be_visible()
    check_accessibility(spa, "admin dashboard")
    # And the session survives a reload (sessionStorage), then ends with sign-out
    spa.reload()
    expect(spa.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
    spa.get_by_role("button", name="Sign out").click()
    expect(spa.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(spa.get_by_text("You are signed out.")).to_be_visible()
    assert spa.evaluate(f"() => sessionStorage.getItem('{SESSION_KEY}')") is None
    spa.goto(f"{clean.base_url}/admin/clients")
    expect(spa).to_have_url(f"{clean.base_url}/admin/signin")


def test_a_client_viewer_sees_no_admin_navigation_and_admin_pages_are_not_allowed(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a client viewer made through the admin API
    client = admin_api.call("POST", "/v1/admin/clients", json={"name": "Bakery Ltd"})
    admin_api.call(
        "POST",
        "/v1/admin/users",
        json={
            "email": "owner@bakery.test",
            "role": "client",
            "client_id": client["id"],
            "password": VIEWER_PASSWORD,
        },
    )
    # When the viewer signs in
    sign_in(spa, clean, "owner@bakery.test", VIEWER_PASSWORD)
    # Then there is no admin navigation
    nav = spa.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(nav.get_by_role("link", name="Clients")).to_have_count(0)
    expect(nav.get_by_role("link", name="Widgets")).to_have_count(0)
    check_accessibility(spa, "viewer dashboard")
    # And admin pages typed in the URL bar say "not allowed"
    for path in ("/admin/clients", "/admin/widgets/new"):
        spa.goto(clean.base_url + path)
        expect(spa.get_by_role("heading", level=1, name="Not allowed")).to_be_visible()
    check_accessibility(spa, "not allowed")
    screenshot(spa, "not-allowed")


@pytest.mark.parametrize(
    ("token", "expires_at"),
    [
        ("garbage.not-a.token", datetime.now(UTC) + timedelta(hours=1)),
        ("any.token.at-all", datetime.now(UTC) - timedelta(minutes=1)),
    ],
    ids=["garbage-token", "expired-token"],
)
def test_a_bad_or_expired_stored_token_sends_to_sign_in_with_a_message(
    spa: Page, admin_api: AdminApi, clean: Platform, token: str, expires_at: datetime
) -> None:
    # Given the admin's session in sessionStorage, with a token the API will not accept
    spa.goto(f"{clean.base_url}/admin/signin")
    stored = {
        "token": token,
        "expiresAt": expires_at.isoformat(),
        "user": admin_api.call("GET", "/v1/auth/me"),
    }
    spa.evaluate("([key, value]) => sessionStorage.setItem(key, value)", [SESSION_KEY, json.dumps(stored)])
    # When an admin page is opened
    spa.goto(f"{clean.base_url}/admin/clients")
    # Then the user is back at sign-in, told why, and the token is gone
    expect(spa.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(spa.get_by_text("Your session has ended. Please sign in again.")).to_be_visible()
    assert spa.evaluate(f"() => sessionStorage.getItem('{SESSION_KEY}')") is None
    # And signing in again returns to the page asked for
    spa.get_by_label("Email").fill(ADMIN_EMAIL)
    spa.get_by_label("Password").fill(ADMIN_PASSWORD)
    spa.get_by_role("button", name="Sign in").click()
    expect(spa.get_by_role("heading", level=1, name="Clients")).to_be_visible()


def test_a_revoked_session_ends_at_the_next_api_call(spa: Page, admin_api: AdminApi, clean: Platform) -> None:
    # Given a second admin signed in on the clients page
    make_user(clean, email="second@agency.test", password=ADMIN_PASSWORD)
    sign_in(spa, clean, "second@agency.test", ADMIN_PASSWORD)
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
    expect(spa.get_by_text("No clients yet.")).to_be_visible()
    # When the first admin resets that admin's password (which ends its sessions)
    users = admin_api.call("GET", "/v1/admin/users", params={"search": "second@"})["items"]
    admin_api.call("PATCH", f"/v1/admin/users/{users[0]['id']}", json={"password": "a brand new password"})
    # Then the next page that calls the API sends the user to sign-in with a message
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Widgets").click()
    expect(spa.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(spa.get_by_text("Your session has ended. Please sign in again.")).to_be_visible()


def test_after_a_sign_out_the_next_user_lands_on_their_own_home_not_the_last_users_page(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given an admin on the users page, and a client viewer
    client = admin_api.call("POST", "/v1/admin/clients", json={"name": "Florist Ltd"})
    admin_api.call(
        "POST",
        "/v1/admin/users",
        json={
            "email": "owner@florist.test",
            "role": "client",
            "client_id": client["id"],
            "password": VIEWER_PASSWORD,
        },
    )
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.goto(f"{clean.base_url}/admin/clients")
    expect(spa.get_by_role("heading", level=1, name="Clients")).to_be_visible()
    # When the admin signs out and, in the same tab, the viewer signs in
    spa.get_by_role("button", name="Sign out").click()
    spa.get_by_label("Email").fill("owner@florist.test")
    spa.get_by_label("Password").fill(VIEWER_PASSWORD)
    spa.get_by_role("button", name="Sign in").click()
    # Then the viewer lands on its own home, not on the admin's last page ("not allowed")
    expect(spa).to_have_url(re.compile(rf"{re.escape(clean.base_url)}/admin/?$"))
    expect(spa.get_by_role("heading", level=1, name="Not allowed")).to_have_count(0)
    # And the admin signing in again after the viewer signs out lands on its home too
    spa.get_by_role("button", name="Sign out").click()
    spa.get_by_label("Email").fill(ADMIN_EMAIL)
    spa.get_by_label("Password").fill(ADMIN_PASSWORD)
    spa.get_by_role("button", name="Sign in").click()
    expect(spa).to_have_url(re.compile(rf"{re.escape(clean.base_url)}/admin/?$"))


def test_a_user_changes_their_password(spa: Page, admin_api: AdminApi, clean: Platform) -> None:
    # Given a signed-in admin on the password page
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Password").click()
    expect(spa.get_by_role("heading", level=1, name="Change your password")).to_be_visible()
    check_accessibility(spa, "password")
    # When the current password is wrong, the field says so (and the session goes on)
    spa.get_by_label("Current password").fill("wrong wrong wrong")
    spa.get_by_label("New password (required)", exact=True).fill("the next good password")
    spa.get_by_label("New password again").fill("the next good password")
    spa.get_by_role("button", name="Change password").click()
    expect(spa.get_by_text("The current password is wrong.")).to_be_visible()
    expect(spa.get_by_label("Current password")).to_have_attribute("aria-invalid", "true")
    # When it is right, the change is confirmed and this browser stays signed in
    spa.get_by_label("Current password").fill(ADMIN_PASSWORD)
    spa.get_by_role("button", name="Change password").click()
    expect(spa.get_by_text("Your password is changed.")).to_be_visible()
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
    expect(spa.get_by_role("heading", level=1, name="Clients")).to_be_visible()
    # And the new password signs in through the API
    AdminApi(clean, password="the next good password").http.close()
