"""The admin SPA's widget pages, as the operator uses them, in headless Chromium: every setting
edited beside the live preview (the real widget.js), errors at their fields, the secret rotated and
shown once, the webhook tested and broken, activate and deactivate, the snippet embedded on another
origin, and bulk delete with the API's counts."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from playwright.sync_api import FrameLocator, Locator, Page, expect

from scripts.bench.harness import free_port
from tests.e2e.conftest import HostSite, Platform
from tests.e2e.spa import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    AdminApi,
    check_accessibility,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e


def make_widget(api: AdminApi, platform: Platform, name: str, client: str = "Acme Bikes") -> dict[str, Any]:
    """A widget made through the admin API (its client too, unless one of that name exists)."""
    clients = api.call("GET", "/v1/admin/clients", params={"limit": 200})["items"]
    found = [c for c in clients if c["name"] == client]
    client_id = (
        found[0]["id"] if found else api.call("POST", "/v1/admin/clients", json={"name": client})["id"]
    )
    body = {"client_id": client_id, "name": name, "webhook_url": f"{platform.base_url}/dev/sample-bot"}
    widget: dict[str, Any] = api.call("POST", "/v1/admin/widgets", json=body)
    return widget


def chat_from_python(platform: Platform, widget_id: str, text: str) -> None:
    """One visitor message through the public API, as the widget sends it."""
    with httpx.Client(base_url=f"{platform.base_url}/v1/widgets/{widget_id}", timeout=20) as http:
        session = http.post("/sessions", json={})
        assert session.status_code in (200, 201), session.text
        token = session.json()["token"]
        sent = http.post("/messages", json={"message": text}, headers={"Authorization": f"Bearer {token}"})
        assert sent.is_success, sent.text


def open_widget_page(spa: Page, platform: Platform, widget: dict[str, Any]) -> None:
    sign_in(spa, platform, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Widgets").click()
    spa.get_by_role("link", name=widget["name"], exact=True).click()
    expect(spa.get_by_role("heading", level=1, name=widget["name"])).to_be_visible()


def fact(scope: Locator, name: str) -> Locator:
    """The value of a term in a description list (the widget's facts, a webhook test's result)."""
    return scope.locator("dt", has_text=re.compile(f"^{name}$")).locator("xpath=following-sibling::dd")


def preview(spa: Page) -> FrameLocator:
    return spa.frame_locator("iframe[title='Live preview of the widget']")


def test_editing_a_widget_changes_the_live_preview_before_saving_and_errors_show_at_their_fields(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a widget with the default settings, open on its page
    widget = make_widget(admin_api, clean, "Shop helper")
    open_widget_page(spa, clean, widget)
    frame = preview(spa)
    expect(frame.locator(".cw-title")).to_have_text("Chat with us")
    expect(frame.locator(".cw-msg--bot")).to_have_text("Hi! How can I help you today?")
    # When settings are typed in, without saving
    spa.get_by_label("Title", exact=True).fill("Ask Acme")
    spa.get_by_label("Subtitle").fill("Bikes and parts")
    spa.get_by_label("First message").fill("Hello, rider!")
    spa.get_by_label("Starter prompts").fill("Opening hours?\nDo you deliver?")
    spa.get_by_label("Primary color", exact=True).fill("#0f766e")
    spa.get_by_label("Text direction").select_option("rtl")
    # Then the preview, drawn by the real widget.js, shows them as they are typed
    expect(frame.locator(".cw-title")).to_have_text("Ask Acme")
    expect(frame.locator(".cw-subtitle")).to_have_text("Bikes and parts")
    expect(frame.locator(".cw-msg--bot")).to_have_text("Hello, rider!")
    expect(frame.locator(".cw-chip")).to_have_text(["Opening hours?", "Do you deliver?"])
    expect(frame.locator(".cw")).to_have_attribute("dir", "rtl")
    expect(frame.locator(".cw")).to_have_attribute("style", re.compile(r"--cw-primary:\s*#0f766e"))
    # And a message in the preview gets the placeholder reply, not the workflow's
    frame.get_by_role("textbox", name="Message").fill("Are you open?")
    frame.get_by_role("textbox", name="Message").press("Enter")
    expect(frame.locator(".cw-msg--bot").last).to_contain_text("This is the preview")
    # And shown as the button on a page, it sits where the position says
    spa.get_by_label("Position").select_option("left")
    spa.get_by_label("Show").select_option("launcher")
    expect(frame.locator(".cw")).to_have_attribute("data-position", "left")
    frame.get_by_role("button", name="Open chat").click()
    expect(frame.locator(".cw-title")).to_have_text("Ask Acme")
    spa.screenshot(path="/tmp/preview-launcher.png")
    spa.get_by_label("Show").select_option("inline")
    # And nothing is saved yet, nor any conversation recorded
    saved = admin_api.call("GET", f"/v1/admin/widgets/{widget['id']}")
    assert saved["config"]["title"] == "Chat with us"
    assert clean.query("SELECT count(*) FROM chat_logs") == [(0,)]
    expect(spa.get_by_text("Unsaved changes", exact=True)).to_be_visible()
    check_accessibility(spa, "widget page")
    screenshot(spa, "widget")
    # When a value the API refuses is saved
    spa.get_by_label("Keep conversations (days)").fill("0")
    spa.get_by_label("Allowed origins").fill("https://www.acme.test\nnot an origin")
    spa.get_by_role("button", name="Save changes").click()
    # Then the API's messages are at their fields, announced
    expect(spa.get_by_role("alert").filter(has_text="Check the fields marked below.")).to_be_visible()
    retention = spa.get_by_label("Keep conversations (days)")
    expect(retention).to_have_attribute("aria-invalid", "true")
    retention_error = spa.locator(f"#{retention.get_attribute('aria-describedby').split()[-1]}")  # type: ignore[union-attr]
    expect(retention_error).to_contain_text("greater than or equal to 1")
    expect(spa.get_by_label("Allowed origins")).to_have_attribute("aria-invalid", "true")
    expect(spa.locator(".field--error .field-error").filter(has_text="Line 2")).to_be_visible()
    check_accessibility(spa, "widget page with errors")
    # When they are corrected, and an interface text is changed too
    retention.fill("30")
    spa.get_by_label("Stop serving at").fill("2030-01-02T03:04")
    spa.get_by_label("Allowed origins").fill("https://www.acme.test")
    spa.get_by_text("Interface text").click()
    spa.get_by_label("“Send”").fill("Senden")
    spa.get_by_role("button", name="Save changes").click()
    # Then everything is saved as typed
    expect(spa.get_by_role("status").filter(has_text="Changes saved")).to_be_visible()
    expect(spa.get_by_text("All changes saved")).to_be_visible()
    config = admin_api.call("GET", f"/v1/admin/widgets/{widget['id']}")["config"]
    assert config["title"] == "Ask Acme"
    assert config["subtitle"] == "Bikes and parts"
    assert config["starter_prompts"] == ["Opening hours?", "Do you deliver?"]
    assert config["theme"]["primary_color"] == "#0f766e"
    assert config["direction"] == "rtl"
    assert config["position"] == "left"
    assert config["retention_days"] == 30
    assert config["allowed_origins"] == ["https://www.acme.test"]
    assert config["strings"] == {"send": "Senden"}
    expires_at = admin_api.call("GET", f"/v1/admin/widgets/{widget['id']}")["expires_at"]
    assert datetime.fromisoformat(expires_at).year == 2030
    expect(fact(spa.locator(".widget-summary"), "Status")).to_contain_text("stops")
    # And the preview uses the new string
    expect(frame.locator(".cw-send")).to_have_attribute("aria-label", "Senden")


def test_rotating_shows_the_new_secret_once_and_the_webhook_test_shows_kind_status_and_latency(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a widget whose secret was shown on create
    widget = make_widget(admin_api, clean, "Shop helper")
    open_widget_page(spa, clean, widget)
    # When the webhook is tested
    spa.get_by_role("button", name="Test webhook").click()
    # Then the result says the kind, the HTTP status and the latency
    result = spa.locator(".widget-summary .test-result")
    expect(result).to_contain_text("The webhook answered in")
    expect(fact(result, "Kind")).to_have_text("OK")
    expect(fact(result, "HTTP status")).to_have_text("200")
    expect(fact(result, "Latency")).to_have_text(re.compile(r"^[\d,.\s\u202f]+ ms$"))
    health = fact(spa.locator(".widget-summary"), "Webhook health")
    expect(health).to_contain_text("Healthy")
    expect(health).to_contain_text("checked")
    # When the secret is rotated, after a confirmation
    spa.get_by_role("button", name="Rotate secret").click()
    dialog = spa.get_by_role("dialog", name=f"Rotate the secret of {widget['name']}?")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    check_accessibility(spa, "rotate dialog")
    dialog.get_by_role("button", name="Rotate secret").click()
    # Then the new secret is shown once, with the warning and a copy button
    expect(spa.get_by_role("heading", name="New widget secret")).to_be_visible()
    expect(spa.get_by_text("you will not see it again")).to_be_visible()
    secret = spa.get_by_label("Secret", exact=True).input_value()
    assert len(secret) >= 40 and secret != widget["widget_secret"]
    spa.get_by_role("button", name="Copy secret").click()
    assert spa.evaluate("() => navigator.clipboard.readText()") == secret
    expect(spa.locator(".widget-summary")).to_contain_text(secret[-4:])
    check_accessibility(spa, "secret rotated")
    screenshot(spa, "widget-rotated")
    # And after a reload it is nowhere to be seen
    spa.reload()
    expect(spa.get_by_role("heading", level=1, name=widget["name"])).to_be_visible()
    expect(spa.get_by_role("button", name="Rotate secret")).to_be_visible()
    assert secret not in spa.content()


def test_deactivating_and_activating_a_widget(spa: Page, admin_api: AdminApi, clean: Platform) -> None:
    widget = make_widget(admin_api, clean, "Shop helper")
    open_widget_page(spa, clean, widget)
    # When it is deactivated
    spa.get_by_role("button", name="Deactivate").click()
    # Then it says so, and the API has it inactive: visitors get no config
    expect(spa.get_by_role("status").filter(has_text="Widget deactivated")).to_be_visible()
    assert admin_api.call("GET", f"/v1/admin/widgets/{widget['id']}")["is_active"] is False
    assert httpx.get(f"{clean.base_url}/v1/widgets/{widget['id']}/config").status_code == 404
    # When it is activated again
    spa.get_by_role("button", name="Activate").click()
    expect(spa.get_by_role("status").filter(has_text="Widget activated")).to_be_visible()
    assert admin_api.call("GET", f"/v1/admin/widgets/{widget['id']}")["is_active"] is True
    assert httpx.get(f"{clean.base_url}/v1/widgets/{widget['id']}/config").status_code == 200


def test_the_snippet_embedded_on_another_origin_chats_with_the_sample_bot(
    spa: Page, admin_api: AdminApi, clean: Platform, host_site: HostSite
) -> None:
    # Given the snippet copied from the widget's page
    widget = make_widget(admin_api, clean, "Shop helper")
    open_widget_page(spa, clean, widget)
    spa.get_by_role("button", name="Copy snippet").click()
    snippet = spa.evaluate("() => navigator.clipboard.readText()")
    assert snippet == spa.get_by_label("Snippet").input_value()
    assert f'data-widget-id="{widget["id"]}"' in snippet
    # When it is pasted into a page served from another origin, and a visitor chats
    url = host_site.page(
        f"shop-{widget['id']}.html",
        "<!doctype html><html lang='en'><head><title>Acme Bikes</title></head>"
        f"<body><h1>Acme Bikes</h1>{snippet}</body></html>",
    )
    assert not url.startswith(clean.base_url)
    visitor = spa.context.new_page()
    visitor.goto(url)
    visitor.get_by_role("button", name="Open chat").click()
    box = visitor.get_by_role("textbox", name="Message")
    box.fill("What are your opening hours?")
    box.press("Enter")
    # Then the sample bot answers through the platform
    expect(visitor.locator(".cw-msg--bot", has_text="Monday to Friday")).to_be_visible()
    assert clean.query("SELECT count(*) FROM chat_logs WHERE widget_id = %s", widget["id"]) == [(1,)]
    visitor.close()


def test_a_broken_webhook_shows_the_failing_badge(spa: Page, admin_api: AdminApi, clean: Platform) -> None:
    # Given a healthy widget
    widget = make_widget(admin_api, clean, "Shop helper")
    open_widget_page(spa, clean, widget)
    dead = f"http://127.0.0.1:{free_port()}/webhook/gone"
    # When its webhook URL is changed to a port where nothing listens
    spa.get_by_label("Webhook URL").fill(dead)
    spa.get_by_role("button", name="Save changes").click()
    # Then the save's probe of the new URL failed, and says how
    saved_test = spa.locator(".editor-form .test-result")
    expect(saved_test).to_contain_text("The webhook failed")
    expect(saved_test).to_contain_text("Unreachable (unreachable)")
    # And the health badge is failing, also after testing it again
    spa.get_by_role("button", name="Test webhook").click()
    summary = spa.locator(".widget-summary")
    expect(fact(summary.locator(".test-result"), "Kind")).to_have_text("Unreachable (unreachable)")
    expect(fact(summary.locator(".test-result"), "HTTP status")).to_have_text("none")
    expect(summary.locator(".badge--failing").first).to_be_visible()
    expect(summary).to_contain_text("failed in a row (unreachable)")
    check_accessibility(spa, "failing widget")
    screenshot(spa, "widget-failing")
    # And the widgets list shows it failing
    spa.get_by_role("link", name=re.compile("All widgets of")).click()
    expect(spa.get_by_role("row", name=re.compile("Shop helper"))).to_contain_text("Failing")


def test_widgets_are_deleted_in_bulk_with_a_confirmation_and_the_counts(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given three widgets, one with a conversation
    front = make_widget(admin_api, clean, "Front desk")
    make_widget(admin_api, clean, "Back office")
    make_widget(admin_api, clean, "Kept widget")
    chat_from_python(clean, front["id"], "What are your opening hours?")
    chat_from_python(clean, front["id"], "Do you deliver?")
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Widgets").click()
    delete = spa.get_by_role("button", name="Delete selected")
    expect(delete).to_be_disabled()
    # When two are selected and deleted
    spa.get_by_role("checkbox", name="Select Front desk").check()
    spa.get_by_role("checkbox", name="Select Back office").check()
    expect(spa.get_by_text("2 widgets selected")).to_be_visible()
    delete.click()
    # Then the dialog names what goes
    dialog = spa.get_by_role("dialog", name="Delete 2 widgets?")
    expect(dialog.get_by_role("listitem")).to_have_count(2)
    expect(dialog).to_contain_text("Front desk")
    expect(dialog).to_contain_text("Back office")
    expect(dialog).to_contain_text("all their conversations")
    check_accessibility(spa, "bulk delete dialog")
    screenshot(spa, "widgets-bulk-delete")
    dialog.get_by_role("button", name="Delete 2 widgets").click()
    # And the counts the API returned are reported
    status = spa.get_by_role("status").filter(has_text="Deleted 2 widgets")
    expect(status).to_contain_text("2 chat messages")
    expect(spa.get_by_role("row", name=re.compile("Front desk|Back office"))).to_have_count(0)
    expect(spa.get_by_role("row", name=re.compile("Kept widget"))).to_be_visible()
    assert clean.query("SELECT count(*) FROM widgets") == [(1,)]
    # When every widget on the page is selected at once, the count follows
    spa.get_by_role("checkbox", name="Select every widget on this page").check()
    expect(spa.get_by_text("1 widget selected")).to_be_visible()


def test_deleting_a_widget_from_its_page_reports_the_counts(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    widget = make_widget(admin_api, clean, "Shop helper")
    chat_from_python(clean, widget["id"], "Hello")
    open_widget_page(spa, clean, widget)
    # When delete is chosen, the dialog says what goes, with the safe choice focused
    spa.get_by_role("button", name="Delete widget").click()
    dialog = spa.get_by_role("dialog", name="Delete Shop helper?")
    expect(dialog).to_contain_text("all its conversations, analytics and webhook errors")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    dialog.get_by_role("button", name="Delete widget").click()
    # Then the client's widgets list reports what the API deleted
    expect(spa.get_by_role("status").filter(has_text="Deleted widget Shop helper")).to_contain_text(
        "1 widget, 1 chat message"
    )
    expect(spa.get_by_text("This client has no widgets yet.")).to_be_visible()


def test_the_health_alert_link_opens_the_widget_page_after_signing_in(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given the link a health-alert email gives (shared/services/health_check.py), opened signed out
    widget = make_widget(admin_api, clean, "Shop helper")
    spa.goto(f"{clean.base_url}/admin/widgets/{widget['id']}")
    expect(spa.get_by_role("heading", name="Sign in")).to_be_visible()
    # When the admin signs in
    spa.get_by_label("Email").fill(ADMIN_EMAIL)
    spa.get_by_label("Password").fill(ADMIN_PASSWORD)
    spa.get_by_role("button", name="Sign in").click()
    # Then the widget's page opens
    expect(spa.get_by_role("heading", level=1, name="Shop helper")).to_be_visible()
    # And a widget that no longer exists says so, with no retry
    spa.goto(f"{clean.base_url}/admin/widgets/00000000-0000-4000-8000-000000000000")
    alert = spa.get_by_role("alert").filter(has_text="Could not load the widget.")
    expect(alert).to_be_visible()
    expect(alert.get_by_role("button", name="Try again")).to_have_count(0)
    check_accessibility(spa, "unknown widget")
