"""The admin SPA's demo widgets, in headless Chromium: create one with a TTL, copy and open its share
link and chat there, see the time left, extend it, purge the expired ones and then all, with the
counts the API returns."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

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
from tests.e2e.test_admin_widgets import chat_from_python

pytestmark = pytest.mark.e2e


def open_demos(spa: Page, platform: Platform) -> None:
    sign_in(spa, platform, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Demos").click()
    expect(spa.get_by_role("heading", level=1, name="Demo widgets")).to_be_visible()


def test_an_admin_creates_a_demo_shares_its_link_where_a_visitor_chats_and_extends_it(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a client and no demo yet
    admin_api.call("POST", "/v1/admin/clients", json={"name": "Acme Bikes"})
    open_demos(spa, clean)
    expect(spa.get_by_text("No demo widgets.")).to_be_visible()
    check_accessibility(spa, "demos (empty)")
    # When a demo is created for one day
    spa.get_by_label("Client").select_option(label="Acme Bikes")
    spa.get_by_label("Name").fill("Trade fair demo")
    spa.get_by_label("Webhook URL").fill(f"{clean.base_url}/dev/sample-bot")
    spa.get_by_label("Title").fill("Ask Acme")
    spa.get_by_label("Available for").select_option(label="1 day")
    spa.get_by_role("button", name="Create demo").click()
    # Then its share link is shown with a copy button, and the time left
    created = spa.locator(".created-demo")
    expect(created.get_by_role("heading", name="Demo Trade fair demo is ready")).to_be_visible()
    demo = admin_api.call("GET", "/v1/admin/widgets", params={"is_demo": "true"})["items"][0]
    assert demo["demo_url"] == f"{clean.base_url}/v1/widgets/{demo['id']}/demo"
    expect(created.get_by_role("link", name=demo["demo_url"])).to_be_visible()
    expect(created).to_contain_text(re.compile(r"23 hours, 59 minutes left|1 day left"))
    expect(created).to_contain_text("you will not see it again")
    created.get_by_role("button", name="Copy the link to Trade fair demo").click()
    assert spa.evaluate("() => navigator.clipboard.readText()") == demo["demo_url"]
    expires = datetime.fromisoformat(demo["expires_at"])
    assert timedelta(hours=23) < expires - datetime.now(UTC) <= timedelta(hours=24)
    # And it is listed
    card = spa.locator(".demo-list > li", has_text="Trade fair demo")
    expect(card).to_contain_text("Healthy")
    check_accessibility(spa, "demo created")
    screenshot(spa, "demos")
    # When the share link is opened, a visitor chats with the demo
    visitor = spa.context.new_page()
    visitor.goto(demo["demo_url"])
    expect(visitor.get_by_role("heading", level=1, name="Ask Acme")).to_be_visible()
    visitor.get_by_role("button", name="Open chat").click()
    box = visitor.get_by_role("textbox", name="Message")
    box.fill("What are your opening hours?")
    box.press("Enter")
    expect(visitor.locator(".cw-msg--bot", has_text="Monday to Friday")).to_be_visible()
    visitor.close()
    # When it is extended to 7 days from now
    card.get_by_label("Extend Trade fair demo: available for").select_option(label="7 days from now")
    card.get_by_role("button", name="Extend").click()
    # Then the new expiry is saved and shown
    expect(spa.get_by_role("status").filter(has_text="Extended Trade fair demo.")).to_be_visible()
    expect(card).to_contain_text(re.compile(r"6 days, 23 hours left|7 days left"))
    extended = datetime.fromisoformat(admin_api.call("GET", f"/v1/admin/widgets/{demo['id']}")["expires_at"])
    assert timedelta(hours=167) < extended - datetime.now(UTC) <= timedelta(hours=168)


def test_purging_the_expired_demos_then_every_demo_reports_the_counts(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given two demos, one of them expired, with a conversation
    client = admin_api.call("POST", "/v1/admin/clients", json={"name": "Acme Bikes"})
    made = {}
    for name in ("Old demo", "Fresh demo"):
        body = {"client_id": client["id"], "name": name, "webhook_url": f"{clean.base_url}/dev/sample-bot"}
        made[name] = admin_api.call("POST", "/v1/admin/demo-widgets", json=body)
    chat_from_python(clean, made["Old demo"]["id"], "Hello")
    clean.query(
        "UPDATE widgets SET expires_at = now() - interval '1 hour' WHERE id = %s RETURNING id",
        made["Old demo"]["id"],
    )
    open_demos(spa, clean)
    expect(spa.locator(".demo-list > li", has_text="Old demo")).to_contain_text("Expired")
    # When the expired ones are purged
    spa.get_by_role("button", name="Purge expired demos").click()
    dialog = spa.get_by_role("dialog", name="Purge the expired demos?")
    expect(dialog).to_contain_text("On this page: Old demo.")
    check_accessibility(spa, "purge dialog")
    dialog.get_by_role("button", name="Purge expired demos").click()
    # Then the API's counts are reported, and only the fresh demo is left
    expect(spa.get_by_role("status").filter(has_text="Purged the expired demos")).to_contain_text(
        "1 widget, 1 chat message"
    )
    expect(spa.locator(".demo-list > li")).to_have_count(1)
    expect(spa.locator(".demo-list > li")).to_contain_text("Fresh demo")
    # When every demo is deleted
    spa.get_by_role("button", name="Delete every demo").click()
    dialog = spa.get_by_role("dialog", name="Delete every demo widget?")
    expect(dialog).to_contain_text("the only demo widget, expired or not")
    dialog.get_by_role("button", name="Delete every demo").click()
    expect(spa.get_by_role("status").filter(has_text="Deleted every demo")).to_contain_text("1 widget")
    expect(spa.get_by_text("No demo widgets.")).to_be_visible()
    assert clean.query("SELECT count(*) FROM widgets") == [(0,)]
