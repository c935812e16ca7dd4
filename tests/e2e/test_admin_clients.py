"""The admin SPA's clients and widgets pages, as the operator uses them, in headless Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform
from tests.e2e.spa import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AdminApi,
    check_accessibility,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_an_admin_creates_a_client_and_a_widget_sees_the_secret_once_and_copies_the_snippet(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a signed-in admin on an empty clients page
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    nav(spa, "Clients")
    expect(spa.get_by_text("No clients yet.")).to_be_visible()
    check_accessibility(spa, "clients (empty)")
    # When a client is created
    spa.get_by_role("link", name="New client").click()
    check_accessibility(spa, "new client")
    spa.get_by_label("Name").fill("Acme Bikes")
    spa.get_by_label("Company").fill("Acme Bikes GmbH")
    spa.get_by_label("Contact email").fill("not-an-email")
    spa.get_by_role("button", name="Create client").click()
    # Then the API's validation message appears at its field
    email = spa.get_by_label("Contact email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(spa.locator(".field--error .field-error")).to_have_count(1)
    email.fill("owner@acme.test")
    spa.get_by_role("button", name="Create client").click()
    # And the list shows it, found by search
    row = spa.get_by_role("row", name=re.compile("Acme Bikes"))
    expect(row).to_contain_text("owner@acme.test")
    expect(row.get_by_role("cell").nth(2)).to_have_text("0")
    # When a widget is created for it, first with a webhook URL the API refuses
    spa.get_by_role("link", name="Edit Acme Bikes").click()
    spa.get_by_role("link", name="Add a widget").click()
    expect(spa.get_by_role("heading", level=1, name="New widget")).to_be_visible()
    expect(spa.get_by_label("Client")).to_have_value(re.compile(".+"))
    spa.get_by_label("Name").fill("Shop helper")
    spa.get_by_label("Webhook URL").fill("ftp://n8n.example.com/webhook/x")
    spa.get_by_label("Title").fill("Ask Acme")
    spa.get_by_label("Welcome message").fill("Hello! Ask us about bikes.")
    spa.get_by_label("Primary color").fill("#0f766e")
    check_accessibility(spa, "new widget")
    screenshot(spa, "widget-new")
    spa.get_by_role("button", name="Create widget").click()
    # Then the error is at the webhook URL field
    webhook = spa.get_by_label("Webhook URL")
    expect(webhook).to_have_attribute("aria-invalid", "true")
    expect(spa.get_by_role("alert")).to_have_text("Check the fields marked below.")
    # When the webhook is the sample bot
    webhook.fill(f"{clean.base_url}/dev/sample-bot")
    spa.get_by_role("button", name="Create widget").click()
    # Then the secret is shown once, with the warning, and the webhook test passed
    expect(spa.get_by_role("heading", level=1, name="Widget Shop helper created")).to_be_visible()
    expect(spa.get_by_text("you will not see it again")).to_be_visible()
    secret = spa.get_by_label("Secret").input_value()
    assert len(secret) >= 40
    expect(spa.get_by_text(re.compile(r"The webhook answered in [\d,.\s]+ ms"))).to_be_visible()
    # And the embed snippet is on the page, and its copy button copies exactly it
    snippet = spa.get_by_label("Snippet").input_value()
    widget = admin_api.call("GET", "/v1/admin/widgets")["items"][0]
    assert snippet == (
        f'<script src="{clean.base_url}/widget.js" data-widget-id="{widget["id"]}" defer></script>'
    ), snippet
    spa.get_by_role("button", name="Copy snippet").click()
    expect(spa.get_by_role("status").filter(has_text="Copied")).to_be_visible()
    assert spa.evaluate("() => navigator.clipboard.readText()") == snippet
    check_accessibility(spa, "widget created")
    screenshot(spa, "widget-created")
    # When the admin goes on to the client's widgets
    spa.get_by_role("link", name="Back to the client's widgets").click()
    expect(spa.get_by_role("heading", level=1, name="Widgets of Acme Bikes")).to_be_visible()
    widget_row = spa.get_by_role("row", name=re.compile("Shop helper"))
    expect(widget_row).to_contain_text("Healthy")
    expect(widget_row).to_contain_text("Active")
    # Then the secret is nowhere to be seen again
    assert secret not in spa.content()
    check_accessibility(spa, "widgets")
    screenshot(spa, "widgets")
    # And the client list counts the widget
    nav(spa, "Clients")
    expect(spa.get_by_role("row", name=re.compile("Acme Bikes")).get_by_role("cell").nth(2)).to_have_text("1")
    screenshot(spa, "clients")
    # And signing out ends the session
    spa.get_by_role("button", name="Sign out").click()
    expect(spa.get_by_role("heading", name="Sign in")).to_be_visible()


def test_deleting_a_client_states_what_goes_and_reports_the_counts(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a client with two widgets, and another client
    client = admin_api.call("POST", "/v1/admin/clients", json={"name": "Doomed Deli"})
    admin_api.call("POST", "/v1/admin/clients", json={"name": "Kept Kitchen"})
    for name in ("Front", "Back"):
        widget = clean.widget()
        admin_api.call("PATCH", f"/v1/admin/widgets/{widget.id}", json={"name": name})
        clean.query("UPDATE widgets SET client_id = %s WHERE id = %s RETURNING id", client["id"], widget.id)
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    nav(spa, "Clients")
    # When delete is chosen for it
    delete = spa.get_by_role("button", name="Delete Doomed Deli")
    delete.click()
    # Then a dialog says what will be deleted, with the safe choice focused
    dialog = spa.get_by_role("dialog", name="Delete Doomed Deli?")
    expect(dialog).to_contain_text("2 widgets with all their conversations")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    check_accessibility(spa, "delete dialog")
    screenshot(spa, "delete-client")
    # And the keyboard stays inside it
    for _ in range(4):
        spa.keyboard.press("Tab")
        assert spa.evaluate("() => !!document.activeElement.closest('dialog')")
    # When it is cancelled with Escape, focus returns to the button that opened it
    spa.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(delete).to_be_focused()
    # When it is confirmed
    delete.click()
    dialog.get_by_role("button", name="Delete client").click()
    # Then the counts the API returned are reported, and only that client went
    expect(spa.get_by_role("status").filter(has_text="Deleted client Doomed Deli")).to_contain_text(
        "2 widgets"
    )
    expect(spa.get_by_role("row", name=re.compile("Doomed Deli"))).to_have_count(0)
    expect(spa.get_by_role("row", name=re.compile("Kept Kitchen"))).to_be_visible()


def test_clients_are_searched_and_paged(spa: Page, admin_api: AdminApi, clean: Platform) -> None:
    # Given 23 clients, three of them bakeries
    for number in range(20):
        admin_api.call("POST", "/v1/admin/clients", json={"name": f"Shop {number:02d}"})
    for number in range(3):
        admin_api.call("POST", "/v1/admin/clients", json={"name": f"Bakery {number}"})
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    nav(spa, "Clients")
    # Then the first page holds 20 of 23, and the next one the rest
    pages = spa.get_by_role("navigation", name="Pages")
    expect(pages).to_contain_text("1\u201320 of 23")
    expect(spa.locator("tbody tr")).to_have_count(20)
    pages.get_by_role("button", name="Next").click()
    expect(pages).to_contain_text("21\u201323 of 23")
    expect(spa.locator("tbody tr")).to_have_count(3)
    # When searching, only the matches are listed
    spa.get_by_label("Search clients").fill("bakery")
    spa.get_by_role("button", name="Search").click()
    expect(spa.locator("tbody tr")).to_have_count(3)
    expect(pages).to_contain_text("1\u20133 of 3")
    spa.get_by_label("Search clients").fill("nothing like this")
    spa.get_by_role("button", name="Search").click()
    expect(spa.get_by_text("No client matches “nothing like this”.")).to_be_visible()
