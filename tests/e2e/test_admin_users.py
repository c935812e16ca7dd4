"""The admin SPA's users page: creating a client viewer (who then signs in) and an admin with a
generated password, deleting a user after a confirmation, in headless Chromium against the dev runner."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.e2e.conftest import Platform
from tests.e2e.spa import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    VIEWER_PASSWORD,
    AdminApi,
    check_accessibility,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e


def test_an_admin_creates_a_client_viewer_who_then_signs_in(
    spa: Page, context: BrowserContext, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a client, and a signed-in admin on the users page
    admin_api.call("POST", "/v1/admin/clients", json={"name": "Bakery Ltd"})
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(spa.get_by_role("heading", level=1, name="Users")).to_be_visible()
    me = spa.get_by_role("row", name=re.compile(re.escape(ADMIN_EMAIL)))
    expect(me).to_contain_text("(you)")
    expect(me).to_contain_text("Administrator")
    check_accessibility(spa, "users")
    # When a client viewer is submitted without a client, and with a short password
    spa.get_by_label("Email").fill("owner@bakery.test")
    spa.get_by_label("Client viewer").check()
    spa.get_by_role("button", name="Create user").click()
    # Then the client field says what is missing
    client = spa.get_by_label("Client (required)")
    expect(client).to_have_attribute("aria-invalid", "true")
    expect(spa.get_by_role("alert")).to_have_text("Check the fields marked below.")
    client.select_option(label="Bakery Ltd")
    spa.get_by_label("Password").fill("too short")
    spa.get_by_role("button", name="Create user").click()
    # And the API's password rule is shown at the password field
    password = spa.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(spa.locator(".field--error .field-error")).to_contain_text("12")
    check_accessibility(spa, "new user with errors")
    # When the password is long enough
    password.fill(VIEWER_PASSWORD)
    spa.get_by_role("button", name="Create user").click()
    # Then the viewer is created and listed with its client
    expect(
        spa.get_by_role("status").filter(has_text="Created client viewer owner@bakery.test for Bakery Ltd.")
    ).to_be_visible()
    row = spa.get_by_role("row", name=re.compile("owner@bakery.test"))
    expect(row).to_contain_text("Client viewer")
    expect(row.get_by_role("link", name="Bakery Ltd")).to_be_visible()
    expect(row).to_contain_text("Never")
    screenshot(spa, "users")
    # When the viewer signs in with that password (in another tab: sessions are per tab)
    viewer = context.new_page()
    sign_in(viewer, clean, "owner@bakery.test", VIEWER_PASSWORD)
    # Then the viewer has no admin navigation, and the users and health pages are not allowed
    nav = viewer.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Users")).to_have_count(0)
    expect(nav.get_by_role("link", name="Health")).to_have_count(0)
    for path in ("/admin/users", "/admin/health", f"/admin/widgets/{uuid.uuid4()}/conversations"):
        viewer.goto(clean.base_url + path)
        expect(viewer.get_by_role("heading", level=1, name="Not allowed")).to_be_visible()
    # And the users page now shows when the viewer last signed in
    spa.reload()
    expect(spa.get_by_role("row", name=re.compile("owner@bakery.test"))).not_to_contain_text("Never")


def test_an_admin_with_a_generated_password_is_created_and_deleted_after_a_confirmation(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a signed-in admin on the users page
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.goto(f"{clean.base_url}/admin/users")
    # When an admin is created without a password
    spa.get_by_label("Email").fill("second@agency.test")
    spa.get_by_label("Administrator").check()
    expect(spa.get_by_label("Client (required)")).to_have_count(0)
    spa.get_by_role("button", name="Create user").click()
    # Then the generated password is shown once, with a working copy button
    expect(spa.get_by_text("you will not see it again")).to_be_visible()
    generated = spa.get_by_label("Generated password").input_value()
    assert len(generated) >= 12
    spa.get_by_role("button", name="Copy password").click()
    expect(spa.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    check_accessibility(spa, "user created")
    # And it signs in through the API
    AdminApi(clean, email="second@agency.test", password=generated).http.close()
    # When the new admin is deleted, the dialog says what that means
    row = spa.get_by_role("row", name=re.compile("second@agency.test"))
    delete = row.get_by_role("button", name="Delete second@agency.test")
    delete.click()
    dialog = spa.get_by_role("dialog", name="Delete second@agency.test?")
    expect(dialog).to_contain_text("Their sessions end at once")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    check_accessibility(spa, "delete user dialog")
    screenshot(spa, "delete-user")
    dialog.get_by_role("button", name="Delete user").click()
    # Then it is gone, said so, and its password no longer signs in
    expect(spa.get_by_role("status").filter(has_text="Deleted second@agency.test")).to_be_visible()
    expect(spa.get_by_role("row", name=re.compile("second@agency.test"))).to_have_count(0)
    response = admin_api.http.post(
        "/v1/auth/login", json={"email": "second@agency.test", "password": generated}
    )
    assert response.status_code == 401
    # And the signed-in admin cannot delete their own account from here
    expect(
        spa.get_by_role("row", name=re.compile(re.escape(ADMIN_EMAIL))).get_by_role("button")
    ).to_have_count(0)
