"""A client viewer's dashboard (its own analytics, read-only) in headless Chromium: what it sees,
the CSV it downloads, and what it cannot see."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform
from tests.e2e.spa import VIEWER_PASSWORD, AdminApi, check_accessibility, screenshot, sign_in
from tests.e2e.test_admin_analytics import (
    UNKNOWN_QUESTION,
    chat,
    earlier_chats,
    expect_stat,
    run_rollup,
    shop_widget,
)

pytestmark = pytest.mark.e2e

VIEWER_EMAIL = "owner@bakery.test"


def download(page: Page, button: str) -> tuple[str, list[list[str]]]:
    """Click a download button; the file's name and its CSV rows."""
    with page.expect_download() as started:
        page.get_by_role("button", name=button).click()
    file = started.value
    path = file.path()
    assert path is not None
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(io.StringIO(handle.read())))
    return file.suggested_filename, rows


def test_a_client_viewer_sees_its_own_dashboard_downloads_the_csv_and_nothing_else(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a bakery with a widget that had chats, and another client's widget with chats of its own
    bakery = shop_widget(clean, admin_api, client="Bakery Ltd", name="Bread helper")
    other = shop_widget(clean, admin_api, client="Rival Rolls", name="Rival helper")
    earlier_chats(clean, bakery, days_ago=2, answered=3)
    earlier_chats(clean, other, days_ago=2, answered=7, failed=2)
    chat(clean, bakery, [UNKNOWN_QUESTION, "When are you open?"])
    run_rollup(clean, since=date.today() - timedelta(days=5))
    # And a viewer of the bakery
    admin_api.call(
        "POST",
        "/v1/admin/users",
        json={
            "email": VIEWER_EMAIL,
            "role": "client",
            "client_id": bakery.client_id,
            "password": VIEWER_PASSWORD,
        },
    )
    # When the viewer signs in
    sign_in(spa, clean, VIEWER_EMAIL, VIEWER_PASSWORD)
    # Then the dashboard is the bakery's analytics: its totals, its widget, its knowledge gaps
    expect_stat(spa, "Chats", "5")
    per_widget = spa.get_by_role("region", name="Totals per widget")
    expect(per_widget.get_by_role("row", name=re.compile("Bread helper"))).to_be_visible()
    expect(spa.get_by_role("heading", name="Bread helper: day by day")).to_be_visible()
    expect(spa.get_by_role("region", name="Knowledge gaps")).to_contain_text("unicorns")
    expect(spa.get_by_role("region", name="Messages by weekday and hour")).to_be_visible()
    # And nothing of the other client, and no admin navigation
    expect(spa.get_by_text("Rival")).to_have_count(0)
    nav = spa.get_by_role("navigation", name="Main")
    for admin_link in ("Clients", "Widgets"):
        expect(nav.get_by_role("link", name=admin_link, exact=True)).to_have_count(0)
    check_accessibility(spa, "client dashboard")
    screenshot(spa, "client-dashboard")

    # When the viewer downloads the totals CSV
    name, rows = download(spa, "Download totals CSV")
    # Then it is the bakery's per-widget totals, then the total, with the same chats
    assert re.fullmatch(r"analytics-client-bakery-ltd-\d{4}-\d{2}-\d{2}-\d{4}-\d{2}-\d{2}\.csv", name), name
    assert rows[0][:5] == ["widget_id", "widget_name", "chats", "conversations", "failed"], rows[0]
    assert [row[1] for row in rows[1:]] == ["Bread helper", "total"], rows
    assert rows[-1][2] == "5", rows[-1]
    expect(spa.get_by_role("status").filter(has_text=f"Downloaded {name}.")).to_be_visible()
    # When the viewer downloads the widget's daily CSV over the last 7 days
    spa.get_by_role("button", name="Last 7 days").click()
    expect(spa.get_by_text(re.compile(r"· 7 days ·")).first).to_be_visible()
    name, rows = download(spa, "Download daily CSV")
    # Then it has one row per day, and the chats add up
    assert rows[0][:3] == ["date", "chats", "conversations"], rows[0]
    assert len(rows) == 1 + 7, rows
    assert sum(int(row[1]) for row in rows[1:]) == 5, rows
    assert rows[-1][0] == max(row[0] for row in rows[1:]), rows

    # When the viewer opens its widget's own page and its client's page
    per_widget.get_by_role("link", name="Bread helper").click()
    expect(spa.get_by_role("heading", level=1, name="Analytics: Bread helper")).to_be_visible()
    expect_stat(spa, "Chats", "5")
    check_accessibility(spa, "client's widget analytics")
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    expect(spa.get_by_role("row", name=re.compile("Bread helper"))).to_be_visible()
    expect(spa.get_by_role("row", name=re.compile("Rival"))).to_have_count(0)
    check_accessibility(spa, "client's analytics list")

    # When the other client's widget and client pages are typed in the URL bar
    for path, heading in (
        (f"/admin/analytics/widgets/{other.widget_id}", "Widget not found"),
        (f"/admin/analytics/clients/{other.client_id}", "Client not found"),
    ):
        spa.goto(clean.base_url + path)
        # Then they are not found, and none of its data is shown
        expect(spa.get_by_role("heading", level=1, name=heading)).to_be_visible()
        expect(spa.get_by_role("alert")).to_contain_text("or it is not yours to see")
        expect(spa.get_by_text("Rival")).to_have_count(0)
        expect(spa.locator(".stat")).to_have_count(0)
    check_accessibility(spa, "another client's widget")
    screenshot(spa, "client-not-yours")

    # And every admin page typed in the URL bar is not allowed
    for path in (
        "/admin/clients",
        "/admin/widgets",
        "/admin/widgets/new",
        f"/admin/clients/{other.client_id}",
    ):
        spa.goto(clean.base_url + path)
        expect(spa.get_by_role("heading", level=1, name="Not allowed")).to_be_visible()
        expect(spa.get_by_text("Rival")).to_have_count(0)
