"""The admin SPA's conversations and transcripts: a widget's visitor sessions, one transcript with its
feedback and failures, erasing a conversation (GDPR) and bulk-deleting several, in headless Chromium
against the dev runner and its sample bot."""

from __future__ import annotations

import re
from typing import Any

import httpx
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
CLOSED_PORT_WEBHOOK = "http://127.0.0.1:9/webhook/gone"  # nothing listens: every call fails


class Visitor:
    """A visitor chatting with a widget through the public API, as widget.js does."""

    def __init__(self, platform: Platform, widget_id: str) -> None:
        self.widget_id = widget_id
        self.http = httpx.Client(base_url=platform.base_url, timeout=20)
        started = self.http.post(f"/v1/widgets/{widget_id}/sessions", json={})
        assert started.status_code == 201, started.text
        self.session_id: str = started.json()["session_id"]
        self.http.headers["Authorization"] = f"Bearer {started.json()['token']}"

    def say(self, text: str, *, expect_status: int = 200) -> dict[str, Any]:
        response = self.http.post(f"/v1/widgets/{self.widget_id}/messages", json={"message": text})
        assert response.status_code == expect_status, response.text
        return dict(response.json())

    def thumbs(self, message_id: str, value: str) -> None:
        response = self.http.post(
            f"/v1/widgets/{self.widget_id}/messages/{message_id}/feedback", json={"value": value}
        )
        assert response.status_code == 200, response.text

    @property
    def short(self) -> str:
        return f"{self.session_id[:8]}\u2026"


def shop_widget(platform: Platform, admin_api: AdminApi, name: str = "Shop helper") -> dict[str, Any]:
    """A client's widget made through the admin API, wired to the dev runner's sample bot."""
    client = admin_api.call("POST", "/v1/admin/clients", json={"name": "Acme Bikes"})
    widget: dict[str, Any] = admin_api.call(
        "POST",
        "/v1/admin/widgets",
        json={
            "client_id": client["id"],
            "name": name,
            "webhook_url": f"{platform.base_url}/dev/sample-bot",
            "is_active": True,
        },
    )
    return widget


def open_conversations(page: Page, platform: Platform, widget: dict[str, Any]) -> None:
    page.goto(f"{platform.base_url}/admin/widgets/{widget['id']}/conversations")
    expect(page.get_by_role("heading", level=1, name=f"Conversations of {widget['name']}")).to_be_visible()


def test_a_conversation_shows_its_transcript_with_feedback_and_failures_and_can_be_erased(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given a visitor who asked three questions: one answer got a thumbs down, the last one failed
    widget = shop_widget(clean, admin_api)
    visitor = Visitor(clean, widget["id"])
    visitor.say("What are your opening hours?")
    delivery = visitor.say("How much is delivery?")
    visitor.thumbs(delivery["message_id"], "down")
    admin_api.call("PATCH", f"/v1/admin/widgets/{widget['id']}", json={"webhook_url": CLOSED_PORT_WEBHOOK})
    visitor.say("Can I talk to a human?", expect_status=502)
    # And another visitor with one answered question
    other = Visitor(clean, widget["id"])
    admin_api.call(
        "PATCH", f"/v1/admin/widgets/{widget['id']}", json={"webhook_url": f"{clean.base_url}/dev/sample-bot"}
    )
    other.say("Do you take returns?")
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    # When the admin opens the widget's conversations
    open_conversations(spa, clean, widget)
    # Then both sessions are listed, the failing one marked, with its counts
    expect(spa.locator("tbody tr")).to_have_count(2)
    row = spa.get_by_role("row", name=re.compile(re.escape(visitor.short)))
    expect(row.get_by_role("cell").nth(3)).to_have_text("3")
    expect(row).to_contain_text("1 failed")
    expect(row).to_contain_text("1 not helpful")
    check_accessibility(spa, "conversations")
    screenshot(spa, "conversations")
    # When its transcript is opened
    row.get_by_role("link", name=f"Transcript of conversation {visitor.short}").click()
    expect(spa.get_by_role("heading", level=1, name=f"Conversation {visitor.short}")).to_be_visible()
    # Then the exchanges are in order, the thumbs down and the failure marked
    exchanges = spa.get_by_role("list", name=re.compile("Transcript")).get_by_role("listitem")
    expect(exchanges).to_have_count(3)
    expect(exchanges.nth(0)).to_contain_text("What are your opening hours?")
    expect(exchanges.nth(0)).to_contain_text("Monday to Friday")
    expect(exchanges.nth(1)).to_contain_text("The visitor found this not helpful")
    expect(exchanges.nth(2)).to_contain_text("Failed")
    expect(exchanges.nth(2)).to_contain_text("No reply: the workflow failed")
    expect(spa.locator(".exchange--failed")).to_have_count(1)
    check_accessibility(spa, "transcript")
    screenshot(spa, "transcript")
    # When it is erased, the dialog says what goes
    spa.get_by_role("button", name="Erase conversation").click()
    dialog = spa.get_by_role("dialog", name=f"Erase conversation {visitor.short}?")
    expect(dialog).to_contain_text("3 messages")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    check_accessibility(spa, "erase dialog")
    dialog.get_by_role("button", name="Erase conversation").click()
    # Then the counts the API returned are reported, and the session's logs are gone
    expect(spa.get_by_role("status").filter(has_text="Conversation erased")).to_contain_text(
        "3 chat logs deleted"
    )
    sql = "SELECT count(*) FROM chat_logs WHERE user_id = %s"
    assert clean.query(sql, visitor.session_id) == [(0,)]
    assert clean.query(sql, other.session_id) == [(1,)]
    # And the list no longer has it
    spa.get_by_role("link", name="Back to the conversations of Shop helper").click()
    expect(spa.locator("tbody tr")).to_have_count(1)
    expect(spa.get_by_role("row", name=re.compile(re.escape(visitor.short)))).to_have_count(0)
    expect(spa.get_by_role("row", name=re.compile(re.escape(other.short)))).to_be_visible()


def test_selected_conversations_are_deleted_after_a_confirmation_with_the_counts(
    spa: Page, admin_api: AdminApi, clean: Platform
) -> None:
    # Given three visitors' conversations of two, one and one messages
    widget = shop_widget(clean, admin_api)
    visitors = [Visitor(clean, widget["id"]) for _ in range(3)]
    visitors[0].say("Hello")
    visitors[0].say("What does delivery cost?")
    visitors[1].say("Are you open on Saturday?")
    visitors[2].say("How do returns work?")
    sign_in(spa, clean, ADMIN_EMAIL, ADMIN_PASSWORD)
    open_conversations(spa, clean, widget)
    expect(spa.locator("tbody tr")).to_have_count(3)
    delete = spa.get_by_role("button", name="Delete selected")
    expect(delete).to_be_disabled()
    # When the first two are selected and deleted
    for visitor in visitors[:2]:
        spa.get_by_role("checkbox", name=f"Select conversation {visitor.short}").check()
    expect(spa.get_by_text("2 conversations selected")).to_be_visible()
    delete.click()
    # Then the dialog states what will be deleted
    dialog = spa.get_by_role("dialog", name="Delete 2 conversations?")
    expect(dialog).to_contain_text("2 visitor sessions")
    expect(dialog).to_contain_text("3 messages")
    for visitor in visitors[:2]:
        expect(dialog).to_contain_text(visitor.session_id)
    check_accessibility(spa, "bulk delete dialog")
    screenshot(spa, "conversations-delete")
    dialog.get_by_role("button", name="Delete 2 conversations").click()
    # And the counts the API returned are reported, and only the third conversation is left
    expect(spa.get_by_role("status").filter(has_text="Deleted 2 conversations")).to_contain_text(
        "3 chat logs deleted"
    )
    expect(spa.locator("tbody tr")).to_have_count(1)
    expect(spa.get_by_role("row", name=re.compile(re.escape(visitors[2].short)))).to_be_visible()
    assert clean.query("SELECT user_id FROM chat_logs") == [(visitors[2].session_id,)]
    # When every conversation on the page is selected with the header box, all can go
    spa.get_by_role("checkbox", name="Select every conversation on this page").check()
    spa.get_by_role("button", name="Delete selected").click()
    spa.get_by_role("dialog").get_by_role("button", name=re.compile("^(Erase|Delete)")).click()
    expect(spa.get_by_text("No conversations yet.")).to_be_visible()
    check_accessibility(spa, "conversations (empty)")
