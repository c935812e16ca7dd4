"""The admin SPA's webhook health page: every widget's webhook status, failing first, and the
webhook errors filtered by kind, widget and client, in headless Chromium against the dev runner."""

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
from tests.e2e.test_admin_conversations import Visitor
from tests.n8n import NOT_REGISTERED, WORKFLOW_ERROR, FakeN8n

pytestmark = pytest.mark.e2e


def test_a_failing_webhook_shows_first_and_its_errors_are_filtered_by_kind(
    spa: Page, admin_api: AdminApi, clean: Platform, fake_n8n: FakeN8n
) -> None:
    # Given a client with a healthy widget and one whose workflow fails (named to sort last)
    client = admin_api.call("POST", "/v1/admin/clients", json={"name": "Acme Bikes"})

    def create(name: str, url: str) -> str:
        body = {"client_id": client["id"], "name": name, "webhook_url": url, "is_active": True}
        widget_id: str = admin_api.call("POST", "/v1/admin/widgets", json=body)["id"]
        return widget_id

    create("Alpha shop", f"{clean.base_url}/dev/sample-bot")
    fake_n8n.reply(WORKFLOW_ERROR, status=500)
    failing = create("Zulu shop", fake_n8n.url)
    # And a never-checked widget of another client
    clean.widget()
    # And visitors whose messages failed: the workflow erred, then it was not active
    visitor = Visitor(clean, failing)
    visitor.say("Where is my order?", expect_status=502)
    fake_n8n.reply(NOT_REGISTERED, status=404)
    visitor.say("Hello?", expect_status=502)
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    # When the admin opens the health page
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Health").click()
    expect(spa.get_by_role("heading", level=1, name="Webhook health")).to_be_visible()
    # Then the failing widget is first, marked failing with its last error, linking to its page
    status = spa.get_by_role("region", name="Webhook status of every widget")
    rows = status.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0).get_by_role("rowheader")).to_have_text("Zulu shop")
    expect(rows.nth(0)).to_contain_text("Failing")
    expect(rows.nth(0)).to_contain_text("Acme Bikes")
    expect(rows.nth(0).get_by_role("link", name="Zulu shop")).to_have_attribute(
        "href", f"/admin/widgets/{failing}"
    )
    expect(rows.nth(1)).to_contain_text("Not checked")
    expect(rows.nth(1)).to_contain_text("Never")
    expect(rows.nth(2)).to_contain_text("Alpha shop")
    expect(rows.nth(2)).to_contain_text("Healthy")
    expect(rows.nth(2)).to_contain_text(re.compile(r"[\d,.\s]+ ms"))
    expect(spa.get_by_text("1 failing webhook")).to_be_visible()
    # And the webhook errors list them newest first: not active, then the workflow errors
    errors = spa.get_by_role("region", name="Webhook errors").locator("tbody tr")
    workflow_errors = clean.query("SELECT count(*) FROM webhook_errors WHERE error_type = 'workflow_error'")[
        0
    ][0]
    assert workflow_errors >= 2  # the probe on create and the visitor's message
    expect(errors).to_have_count(workflow_errors + 1)
    expect(errors.nth(0)).to_contain_text("Workflow not active")
    expect(errors.nth(0)).to_contain_text("Zulu shop")
    check_accessibility(spa, "health")
    screenshot(spa, "health")
    # When the errors are filtered by kind
    spa.get_by_label("Kind", exact=True).select_option(label="Workflow error")
    # Then only that kind is listed
    expect(errors).to_have_count(workflow_errors)
    for index in range(workflow_errors):
        expect(errors.nth(index).get_by_role("cell").nth(1)).to_have_text("Workflow error")
    expect(spa).to_have_url(re.compile(r"kind=workflow_error"))
    # And a kind that never happened says so
    spa.get_by_label("Kind", exact=True).select_option(label="Timed out")
    expect(spa.get_by_text("No webhook error matches these filters.")).to_be_visible()
    check_accessibility(spa, "health, no matching errors")
    # When the filters are cleared and the healthy widget chosen, nothing matches either
    spa.get_by_role("button", name="Clear filters").click()
    expect(errors).to_have_count(workflow_errors + 1)
    spa.get_by_label("Widget", exact=True).select_option(label="Alpha shop (Acme Bikes)")
    expect(spa.get_by_text("No webhook error matches these filters.")).to_be_visible()
    spa.get_by_label("Widget", exact=True).select_option(label="Zulu shop (Acme Bikes)")
    expect(errors).to_have_count(workflow_errors + 1)
    spa.get_by_label("Time", exact=True).select_option(label="Last hour")
    expect(errors).to_have_count(workflow_errors + 1)


def test_check_now_probes_a_webhook_and_moves_a_fixed_widget_out_of_failing(
    spa: Page, admin_api: AdminApi, clean: Platform, fake_n8n: FakeN8n
) -> None:
    # Given a widget whose workflow was not active when it was created
    client = admin_api.call("POST", "/v1/admin/clients", json={"name": "Bakery Ltd"})
    fake_n8n.reply(NOT_REGISTERED, status=404)
    body = {"client_id": client["id"], "name": "Bread bot", "webhook_url": fake_n8n.url, "is_active": True}
    admin_api.call("POST", "/v1/admin/widgets", json=body)
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.goto(f"{clean.base_url}/admin/health")
    status = spa.get_by_role("region", name="Webhook status of every widget")
    row = status.get_by_role("row", name=re.compile("Bread bot"))
    expect(row).to_contain_text("Failing")
    expect(row).to_contain_text("Workflow not active")
    # When the workflow is activated and the admin checks the webhook now
    fake_n8n.reply({"output": "ok"})
    row.get_by_role("button", name="Check now: Bread bot").click()
    # Then the result is announced and the widget is healthy
    expect(spa.get_by_role("status").filter(has_text="Bread bot: the webhook answered in")).to_be_visible()
    expect(row).to_contain_text("Healthy")
    expect(spa.get_by_text("0 failing webhooks")).to_be_visible()


def test_webhook_errors_page_older_and_newer(spa: Page, admin_api: AdminApi, clean: Platform) -> None:
    # Given 30 timeouts of one widget, a minute apart (the newest numbered 29)
    widget = clean.widget()
    clean.query(
        "INSERT INTO webhook_errors (widget_id, error_type, error_message, occurred_at) "
        "SELECT %s, 'timeout', 'no answer #' || n, now() - (30 - n) * interval '1 minute' "
        "FROM generate_series(0, 29) AS n RETURNING id",
        widget.id,
    )
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    spa.goto(f"{clean.base_url}/admin/health?kind=timeout")
    errors = spa.get_by_role("region", name="Webhook errors").locator("tbody tr")
    pages = spa.get_by_role("navigation", name="Webhook error pages")
    # Then the first page holds the 25 newest, newest first
    expect(errors).to_have_count(25)
    expect(errors.nth(0)).to_contain_text("no answer #29")
    expect(pages.get_by_role("button", name="Newer")).to_be_disabled()
    # When the older page is opened, the 5 oldest follow, and there is nothing older
    pages.get_by_role("button", name="Older").click()
    expect(errors).to_have_count(5)
    expect(errors.nth(0)).to_contain_text("no answer #4")
    expect(errors.nth(4)).to_contain_text("no answer #0")
    expect(pages).to_contain_text("Page 2")
    expect(pages.get_by_role("button", name="Older")).to_be_disabled()
    # And back to the newer page
    pages.get_by_role("button", name="Newer").click()
    expect(errors).to_have_count(25)
    expect(errors.nth(0)).to_contain_text("no answer #29")
