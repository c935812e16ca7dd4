"""The admin SPA's analytics pages, as the operator uses them, in headless Chromium.

Also the helpers the client dashboard tests share: a client with a widget wired to the sample bot,
chatting through the public API, earlier chat logs, and the analytics_rollup job run as
`scripts/invoke.py` runs it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Platform
from tests.e2e.spa import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    ROOT,
    AdminApi,
    check_accessibility,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.e2e

UNKNOWN_QUESTION = "Do you sell unicorns?"


@dataclass(frozen=True)
class ShopWidget:
    client_id: str
    widget_id: str
    name: str


def shop_widget(platform: Platform, admin_api: AdminApi, *, client: str, name: str) -> ShopWidget:
    """A client (through the admin API) and a widget of it wired to the sample bot."""
    client_id = admin_api.call("POST", "/v1/admin/clients", json={"name": client})["id"]
    widget = platform.widget()
    admin_api.call("PATCH", f"/v1/admin/widgets/{widget.id}", json={"name": name})
    platform.query("UPDATE widgets SET client_id = %s WHERE id = %s RETURNING id", client_id, widget.id)
    return ShopWidget(client_id=client_id, widget_id=str(widget.id), name=name)


def chat(platform: Platform, widget: ShopWidget, messages: list[str], *, thumbs_down: int = 0) -> None:
    """One visitor session through the public API; the first `thumbs_down` replies get a thumbs-down."""
    with httpx.Client(base_url=platform.base_url, timeout=20) as http:
        started = http.post(f"/v1/widgets/{widget.widget_id}/sessions")
        assert started.status_code == 201, started.text
        headers = {"Authorization": f"Bearer {started.json()['token']}"}
        for number, message in enumerate(messages):
            sent = http.post(
                f"/v1/widgets/{widget.widget_id}/messages", json={"message": message}, headers=headers
            )
            assert sent.status_code == 200, sent.text
            if number < thumbs_down:
                path = f"/v1/widgets/{widget.widget_id}/messages/{sent.json()['message_id']}/feedback"
                voted = http.post(path, json={"value": "down"}, headers=headers)
                assert voted.is_success, voted.text


def earlier_chats(
    platform: Platform, widget: ShopWidget, *, days_ago: int, answered: int, failed: int = 0
) -> None:
    """Chat logs of one earlier session (noon UTC `days_ago` days back), as the relay writes them."""
    at = datetime.combine(date.today() - timedelta(days=days_ago), datetime.min.time(), UTC) + timedelta(
        hours=12
    )
    for number in range(answered + failed):
        is_failed = number >= answered
        platform.query(
            "INSERT INTO chat_logs (widget_id, user_id, message, response, confidence, status,"
            " response_time_ms, topic, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            widget.widget_id,
            f"earlier-{days_ago}",
            "What are your opening hours?" if not is_failed else "Can I pay by cheque?",
            "" if is_failed else "Monday to Friday, 9:00-18:00.",
            None if is_failed else 0.94,
            "failed" if is_failed else "answered",
            None if is_failed else 400 + 100 * number,
            None if is_failed else "opening hours",
            at + timedelta(minutes=number),
        )


def run_rollup(platform: Platform, *, since: date) -> dict[str, object]:
    """The analytics_rollup job, once, as `python -m scripts.invoke` runs it (a backfill from `since`)."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.invoke", "analytics_rollup", "--since", since.isoformat(), "--json"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": platform.database_url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary: dict[str, object] = json.loads(result.stdout)
    return summary


def stat(page: Page, name: str) -> str:
    """The value of one headline figure (e.g. "Chats") of the first totals on the page."""
    return (
        page.locator(".stat")
        .filter(has=page.locator("dt", has_text=re.compile(f"^{name}$")))
        .first.locator(".stat-value")
        .inner_text()
    )


def expect_stat(page: Page, name: str, value: str) -> None:
    figure = page.locator(".stat").filter(has=page.locator("dt", has_text=re.compile(f"^{name}$"))).first
    expect(figure.locator(".stat-value")).to_have_text(value)


def test_an_admin_sees_a_widgets_analytics_change_after_chats_and_the_rollup(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a widget with two answered chats 3 days ago and two answered and one failed 40 days ago
    shop = shop_widget(clean, admin_api, client="Bike Shop", name="Shop helper")
    earlier_chats(clean, shop, days_ago=3, answered=2)
    earlier_chats(clean, shop, days_ago=40, answered=2, failed=1)
    run_rollup(clean, since=date.today() - timedelta(days=60))
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    # When the admin opens Analytics
    spa.get_by_role("navigation", name="Main").get_by_role("link", name="Analytics").click()
    expect(spa.get_by_role("heading", level=1, name="Analytics")).to_be_visible()
    row = spa.get_by_role("row", name=re.compile("Shop helper"))
    # Then the widget is listed with its client and its chats of the last 30 days
    expect(row.get_by_role("link", name="Bike Shop")).to_be_visible()
    expect(row.get_by_role("cell").last).to_have_text("2")
    check_accessibility(spa, "analytics list")
    screenshot(spa, "analytics-list")
    # When the widget is opened, the last 30 days are shown
    row.get_by_role("link", name="Shop helper").click()
    expect(spa.get_by_role("heading", level=1, name="Analytics: Shop helper")).to_be_visible()
    expect(spa.get_by_role("button", name="Last 30 days")).to_have_attribute("aria-pressed", "true")
    expect_stat(spa, "Chats", "2")
    expect_stat(spa, "Failures", "0")
    # When the 90-day preset is chosen, the older chats and the failure count too
    spa.get_by_role("button", name="Last 90 days").click()
    expect(spa).to_have_url(re.compile(r"[?&]days=90"))
    expect_stat(spa, "Chats", "4")
    expect_stat(spa, "Failures", "1")
    expect(spa.get_by_text(re.compile(r"· 90 days ·"))).to_be_visible()
    # And the knowledge gaps hold the failed question, with why and when
    gaps = spa.get_by_role("region", name="Knowledge gaps")
    gap = gaps.get_by_role("row", name=re.compile("Can I pay by cheque"))
    expect(gap).to_contain_text("1 failed")
    expect(gap).to_contain_text("No reply (failed)")
    # When the 7-day preset is chosen, only the recent chats are left
    spa.get_by_role("button", name="Last 7 days").click()
    expect_stat(spa, "Chats", "2")
    expect(spa.get_by_text("No knowledge gaps in this range.")).to_be_visible()

    # When a visitor chats now (one question the bot cannot answer, with a thumbs-down) and the
    # rollup runs
    chat(clean, shop, [UNKNOWN_QUESTION, "How much is delivery?", "When are you open?"], thumbs_down=1)
    run_rollup(clean, since=date.today() - timedelta(days=1))
    spa.reload()
    # Then the figures include the new exchanges
    expect_stat(spa, "Chats", "5")
    expect_stat(spa, "Conversations", "2")
    expect(spa.locator(".stat").filter(has_text="Feedback").locator(".stat-value")).to_have_text(
        "0 up · 1 down"
    )
    # And the unknown question is a knowledge gap: low confidence and a thumbs-down, with the reply
    gap = spa.get_by_role("region", name="Knowledge gaps").get_by_role("row", name=re.compile("unicorns"))
    expect(gap).to_contain_text("1 low confidence")
    expect(gap).to_contain_text("1 thumbs down")
    expect(gap).to_contain_text("only a demo bot")
    # And the heatmap has the messages in today's weekday and the current hour's row
    heatmap = spa.get_by_role("region", name="Messages by weekday and hour")
    expect(heatmap.locator("tbody tr")).to_have_count(7)
    expect(heatmap.locator("tbody td.heat:not(.heat--0)").first).to_be_visible()
    cells = heatmap.locator("tbody td").all_inner_texts()
    assert sum(int(text.replace(",", "")) for text in cells if text.strip()) == 5
    # And every chart has its figures as a table too
    charts = spa.locator("figure.chart")
    expect(charts).to_have_count(4)
    charts.first.locator("summary").click()
    table = spa.get_by_role("region", name="Chats, conversations and failures by day")
    expect(table.locator("tbody tr")).to_have_count(7)
    expect(spa.get_by_role("region", name="Top questions")).to_contain_text("unicorns")
    expect(spa.get_by_role("region", name="Top topics")).to_contain_text("opening hours")
    check_accessibility(spa, "widget analytics")
    screenshot(spa, "analytics-widget")

    # When a custom range is given the wrong way round, the error is announced and nothing changes
    spa.get_by_label("From", exact=True).fill((date.today() - timedelta(days=1)).isoformat())
    spa.get_by_label("To", exact=True).fill((date.today() - timedelta(days=5)).isoformat())
    spa.get_by_role("button", name="Apply dates").click()
    expect(spa.get_by_role("alert")).to_have_text("The start date must not be after the end date.")
    expect(spa.get_by_label("From", exact=True)).to_have_attribute("aria-invalid", "true")
    # When a valid one is given, the range is those days (the 40-day-old chats only)
    spa.get_by_label("From", exact=True).fill((date.today() - timedelta(days=45)).isoformat())
    spa.get_by_label("To", exact=True).fill((date.today() - timedelta(days=35)).isoformat())
    spa.get_by_role("button", name="Apply dates").click()
    expect(spa.get_by_text(re.compile(r"· 11 days ·"))).to_be_visible()
    expect_stat(spa, "Chats", "2")
    for preset in ("Last 7 days", "Last 30 days", "Last 90 days"):
        expect(spa.get_by_role("button", name=preset)).to_have_attribute("aria-pressed", "false")

    # When the admin opens the client's totals from the list
    spa.get_by_role("link", name="All analytics").click()
    spa.get_by_role("row", name=re.compile("Shop helper")).get_by_role("link", name="Bike Shop").click()
    # Then the widget's totals and the client's total are there
    expect(spa.get_by_role("heading", level=1, name="Analytics: Bike Shop")).to_be_visible()
    per_widget = spa.get_by_role("region", name="Totals per widget")
    expect(
        per_widget.get_by_role("row", name=re.compile("Shop helper")).get_by_role("cell").first
    ).to_have_text("5")
    expect(per_widget.locator("tfoot")).to_contain_text("Total")
    check_accessibility(spa, "client analytics")
    screenshot(spa, "analytics-client")


def test_a_widget_without_chats_says_so_and_an_unknown_one_is_not_found(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a widget nobody has chatted with
    shop = shop_widget(clean, admin_api, client="Quiet Cafe", name="Quiet helper")
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    # When its analytics are opened, in another time zone
    spa.goto(f"{clean.base_url}/admin/analytics/widgets/{shop.widget_id}?days=7&tz=Asia/Tokyo")
    # Then the page says there were no chats (no blank charts), in that zone
    expect(spa.get_by_role("heading", level=1, name="Analytics: Quiet helper")).to_be_visible()
    expect(spa.get_by_text("No chats in this range.")).to_be_visible()
    expect(spa.get_by_label("Time zone")).to_have_value("Asia/Tokyo")
    expect(spa.get_by_text(re.compile(r"· 7 days · Asia/Tokyo"))).to_be_visible()
    check_accessibility(spa, "widget analytics (empty)")
    # When a widget id that does not exist is typed
    spa.goto(f"{clean.base_url}/admin/analytics/widgets/00000000-0000-4000-8000-000000000000")
    # Then it is not found
    expect(spa.get_by_role("heading", level=1, name="Widget not found")).to_be_visible()
    expect(spa.get_by_role("alert")).to_contain_text("No such widget, or it is not yours to see.")
