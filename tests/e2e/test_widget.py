"""The widget as a visitor uses it, in headless Chromium on a customer-like page of another origin."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import HostSite, Platform
from tests.n8n import WORKFLOW_ERROR, FakeN8n

pytestmark = pytest.mark.e2e
DOCS = Path(__file__).resolve().parents[2] / "docs"
SHADOW = "document.querySelector('chat-widget-root').shadowRoot"


def open_widget(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name="Open chat").click()
    expect(page.get_by_role("dialog")).to_be_visible()


def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def wait_for_row(platform: Platform, sql: str, expected: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while platform.query(sql) != expected:
        assert time.monotonic() < deadline, f"{sql} never gave {expected}: {platform.query(sql)}"
        time.sleep(0.1)


def test_a_visitor_chats_gives_feedback_and_finds_the_conversation_after_reload(
    page: Page, clean: Platform, host_site: HostSite
) -> None:
    # Given a customer page embedding a widget wired to the sample bot
    widget = clean.widget(
        config={"title": "Acme help", "first_message": "Hi there!", "starter_prompts": ["Delivery?"]}
    )
    url = host_site.embed(clean, widget)
    # When the visitor opens it and asks a question
    open_widget(page, url)
    expect(page.get_by_text("Hi there!")).to_be_visible()
    send(page, "What are your opening hours?")
    # Then the bot's reply appears, rendered from markdown
    reply = page.locator(".cw-msg--bot", has_text="Monday to Friday")
    expect(reply).to_be_visible()
    expect(reply.locator("strong")).to_have_text("Monday to Friday, 9:00-18:00")
    page.screenshot(path=str(DOCS / "widget-desktop.png"))
    # And feedback on it is recorded in the database
    reply.get_by_role("button", name="Helpful", exact=True).click()
    expect(reply.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
    wait_for_row(clean, "SELECT feedback FROM chat_logs", [("up",)])
    # And after a reload the conversation is restored from the history
    page.reload()
    page.get_by_role("button", name="Open chat").click()
    expect(page.locator(".cw-msg--user")).to_have_text(["What are your opening hours?"])
    restored = page.locator(".cw-msg--bot", has_text="Monday to Friday")
    expect(restored.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    assert clean.query("SELECT count(*) FROM chat_logs") == [(1,)]  # reading history called no bot


def test_starter_prompts_send_themselves(page: Page, clean: Platform, host_site: HostSite) -> None:
    widget = clean.widget(config={"starter_prompts": ["How much is delivery?"]})
    open_widget(page, host_site.embed(clean, widget))
    page.get_by_role("button", name="How much is delivery?").click()
    expect(page.locator(".cw-msg--bot", has_text="€4.90")).to_be_visible()
    expect(page.get_by_role("button", name="How much is delivery?")).to_be_hidden()


HOSTILE_CSS = """<style>
* { all: unset !important; font-size: 31px !important; color: red !important; font-family: Impact !important;
    line-height: 3 !important; letter-spacing: 4px !important; box-sizing: content-box !important; }
html, body { display: block !important; direction: rtl !important; text-transform: uppercase !important; }
div, button, p, h2, textarea, form { display: inline !important; background: lime !important; border: 9px solid blue !important;
    padding: 30px !important; margin: 20px !important; width: 10px !important; visibility: visible !important; }
chat-widget-root { display: none !important; opacity: 0 !important; transform: scale(0.1) !important; }
.cw, .cw-launcher, .cw-window, .cw-bubble { display: none !important; }
</style>"""
PROPERTIES = [
    "display",
    "position",
    "width",
    "height",
    "background-color",
    "color",
    "font-size",
    "font-family",
    "line-height",
    "letter-spacing",
    "text-transform",
    "border-top-width",
    "padding-top",
    "border-radius",
    "opacity",
    "visibility",
]
ELEMENTS = [
    ".cw-launcher",
    ".cw-window",
    ".cw-header",
    ".cw-title",
    ".cw-input",
    ".cw-send",
    ".cw-msg--bot .cw-bubble",
]


def computed(page: Page) -> dict[str, dict[str, str]]:
    script = f"""([selectors, properties]) => {{
        const root = {SHADOW};
        const host = getComputedStyle(document.querySelector('chat-widget-root'));
        const out = {{host: {{display: host.display, opacity: host.opacity, transform: host.transform}}}};
        for (const s of selectors) {{
            const style = getComputedStyle(root.querySelector(s));
            out[s] = Object.fromEntries(properties.map(p => [p, style.getPropertyValue(p)]));
        }}
        return out;
    }}"""
    result: dict[str, dict[str, str]] = page.evaluate(script, [ELEMENTS, PROPERTIES])
    return result


def test_hostile_page_css_cannot_change_the_widget_and_the_widget_css_stays_inside(
    browser: Browser, clean: Platform, host_site: HostSite
) -> None:
    # Given the same widget on a plain page and on a page with aggressive global CSS
    widget = clean.widget(config={"first_message": "Hello!"})
    looks = []
    for head in ("", HOSTILE_CSS):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        open_widget(page, host_site.embed(clean, widget, head=head))
        expect(page.locator(".cw-msg--bot")).to_be_visible()
        looks.append(computed(page))
        context.close()
    # Then every element of the widget computes to the same style on both
    assert looks[1] == looks[0]
    assert looks[0]["host"]["display"] == "block"
    # And the widget's own CSS does not touch the page around it
    context = browser.new_context()
    page = context.new_page()
    probe = "() => { const s = getComputedStyle(document.querySelector('h1')); return [s.fontFamily, s.fontSize, s.color, s.margin]; }"
    page.goto(host_site.page("plain.html", "<!doctype html><h1>Customer site</h1>"))
    without = page.evaluate(probe)
    page.goto(host_site.embed(clean, widget))
    expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    assert page.evaluate(probe) == without
    context.close()


XSS_REPLY = (
    "<img src=x onerror=\"window.__xss='img'\"> <script>window.__xss='script'</script>\n\n"
    "[click me](javascript:window.__xss='link') [data](data:text/html,<script>parent.__xss=1</script>) "
    "<a href=\"javascript:window.__xss='a'\">raw</a> **<svg onload=window.__xss='svg'>**\n\n"
    "[safe](https://example.com)"
)


def test_a_reply_carrying_xss_executes_nothing(
    page: Page, clean: Platform, host_site: HostSite, fake_n8n: FakeN8n
) -> None:
    # Given a workflow that answers with script payloads
    fake_n8n.reply({"output": XSS_REPLY})
    widget = clean.widget(webhook_url=fake_n8n.url)
    open_widget(page, host_site.embed(clean, widget))
    # When the reply is shown and its links are clicked
    send(page, "hello")
    bubble = page.locator(".cw-msg--bot").last
    expect(bubble).to_contain_text("<script>")  # shown as text, never parsed
    expect(bubble).to_contain_text("onerror=")
    bubble.get_by_text("click me").click()
    bubble.get_by_text("raw").click()
    # Then nothing ran, no element but the safe subset exists, and only the https link is a link
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    tags = page.evaluate(
        f"() => [...{SHADOW}.querySelectorAll('.cw-bubble *')].map(e => e.tagName.toLowerCase())"
    )
    assert set(tags) <= {"p", "strong", "em", "code", "pre", "ul", "ol", "li", "a", "br"}
    links = bubble.locator("a")
    expect(links).to_have_count(1)
    expect(links).to_have_attribute("href", "https://example.com")
    expect(links).to_have_attribute("rel", "noopener noreferrer")


def test_a_narrow_viewport_goes_full_screen(browser: Browser, clean: Platform, host_site: HostSite) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    widget = clean.widget(config={"first_message": "Hi! How can I help?"})
    open_widget(page, host_site.embed(clean, widget))
    send(page, "How much does delivery cost?")
    expect(page.locator(".cw-msg--bot", has_text="€4.90")).to_be_visible()
    box = page.get_by_role("dialog").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 844}
    page.screenshot(path=str(DOCS / "widget-mobile.png"))
    context.close()


def active(page: Page) -> str:
    result: str = page.evaluate(
        f"() => document.activeElement?.tagName === 'CHAT-WIDGET-ROOT' ? {SHADOW}.activeElement?.className ?? '' : 'page'"
    )
    return result


def test_a_keyboard_only_conversation(page: Page, clean: Platform, host_site: HostSite) -> None:
    widget = clean.widget()
    page.goto(host_site.embed(clean, widget))
    expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    # Tab reaches the launcher; Enter opens the dialog with the message box focused
    page.keyboard.press("Tab")
    assert "cw-launcher" in active(page)
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    assert "cw-input" in active(page)
    # Shift+Enter makes a new line, Enter sends; send is disabled while the box is empty
    expect(page.get_by_role("button", name="Send")).to_be_disabled()
    page.keyboard.type("Do you")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("deliver?")
    assert page.get_by_role("textbox", name="Message").input_value() == "Do you\ndeliver?"
    page.keyboard.press("Enter")
    reply = page.locator(".cw-msg--bot", has_text="€4.90")
    expect(reply).to_be_visible()
    expect(page.locator(".cw-msg--user")).to_have_text(["Do you\ndeliver?"])
    # Feedback by keyboard: Shift+Tab back to the buttons, Space presses
    page.keyboard.press("Shift+Tab")
    while "cw-feedback" not in page.evaluate(f"() => {SHADOW}.activeElement?.parentElement?.className ?? ''"):
        page.keyboard.press("Shift+Tab")
    page.keyboard.press("Space")
    wait_for_row(clean, "SELECT feedback IS NOT NULL FROM chat_logs", [(True,)])
    # Escape closes and gives focus back to the launcher
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert "cw-launcher" in active(page)


def test_a_failing_workflow_shows_the_fallback(
    page: Page, clean: Platform, host_site: HostSite, fake_n8n: FakeN8n
) -> None:
    fake_n8n.reply(WORKFLOW_ERROR, status=500)
    widget = clean.widget(
        webhook_url=fake_n8n.url, config={"fallback_message": "Our assistant is taking a break."}
    )
    open_widget(page, host_site.embed(clean, widget))
    send(page, "hello?")
    expect(page.locator(".cw-msg--fallback")).to_have_text("Our assistant is taking a break.")
    expect(page.get_by_role("textbox", name="Message")).to_be_enabled()


def test_rate_limits_show_when_to_try_again(page: Page, clean: Platform, host_site: HostSite) -> None:
    widget = clean.widget(config={"rate_limit": {"per_session_per_minute": 1}})
    open_widget(page, host_site.embed(clean, widget))
    send(page, "hello")
    expect(page.locator(".cw-msg--bot", has_text="Hello!")).to_be_visible()
    send(page, "hello again")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("You can send again in")
    page.get_by_role("textbox", name="Message").fill("a third one")
    expect(page.get_by_role("button", name="Send")).to_be_disabled()


def test_network_errors_offer_a_retry(page: Page, clean: Platform, host_site: HostSite) -> None:
    widget = clean.widget()
    open_widget(page, host_site.embed(clean, widget))

    def fail_posts(route: Any) -> None:
        if route.request.method == "POST":
            route.abort()
        else:
            route.continue_()

    page.route("**/messages", fail_posts)
    send(page, "Do you deliver?")
    expect(page.get_by_role("alert")).to_contain_text("Can't reach the chat")
    page.unroute("**/messages")
    page.get_by_role("button", name="Try again").click()
    expect(page.locator(".cw-msg--bot", has_text="€4.90")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_hidden()
    expect(page.locator(".cw-msg--user")).to_have_text(["Do you deliver?"])


def test_the_javascript_api_and_no_other_globals(page: Page, clean: Platform, host_site: HostSite) -> None:
    widget = clean.widget()
    page.goto(host_site.page("bare.html", "<!doctype html><body><p>bare</p></body>"))
    before = set(page.evaluate("Object.keys(window)"))
    page.goto(host_site.embed(clean, widget))
    page.wait_for_function("() => window.ChatWidget !== undefined")
    expect(page.get_by_role("button", name="Open chat")).to_be_visible()
    assert set(page.evaluate("Object.keys(window)")) - before == {"ChatWidget"}
    page.evaluate("""() => {
        window.events = [];
        for (const name of ['open', 'close', 'message']) ChatWidget.on(name, d => window.events.push([name, d.role ?? null]));
        ChatWidget.open();
    }""")
    expect(page.get_by_role("dialog")).to_be_visible()
    page.evaluate("() => ChatWidget.send('hello')")
    expect(page.locator(".cw-msg--bot", has_text="Hello!")).to_be_visible()
    page.evaluate("() => ChatWidget.toggle()")
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert page.evaluate("window.events") == [
        ["open", None],
        ["message", "user"],
        ["message", "bot"],
        ["close", None],
    ]


def luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_accessibility_names_live_region_motion_and_contrast(
    browser: Browser, clean: Platform, host_site: HostSite
) -> None:
    context = browser.new_context(reduced_motion="reduce")
    page = context.new_page()
    widget = clean.widget(
        config={
            "title": "Acme help",
            "starter_prompts": ["Hours?"],
            "welcome_message": "We reply in minutes.",
        }
    )
    open_widget(page, host_site.embed(clean, widget))
    expect(page.get_by_role("dialog", name="Acme help")).to_be_visible()
    send(page, "What are your opening hours?")
    expect(page.locator(".cw-msg--bot", has_text="Monday")).to_be_visible()
    # Every control has an accessible name
    unnamed = page.evaluate(f"""() => [...{SHADOW}.querySelectorAll('button, textarea')]
        .filter(e => !(e.getAttribute('aria-label') || e.textContent.trim())).map(e => e.className)""")
    assert unnamed == []
    # New bot messages are announced politely
    live = page.locator("[aria-live=polite]")
    expect(live).to_contain_text("New message: We're open")
    # Reduced motion stops the typing animation
    animation = page.evaluate(
        f"() => getComputedStyle({SHADOW}.querySelector('.cw-typing span')).animationName"
    )
    assert animation == "none"
    # The default theme meets WCAG AA contrast
    colors = page.evaluate(f"""() => {{
        const r = {SHADOW}; const s = (q) => getComputedStyle(r.querySelector(q));
        return [[s('.cw-header').color, s('.cw-header').backgroundColor],
                [s('.cw-msg--user .cw-bubble').color, s('.cw-msg--user .cw-bubble').backgroundColor],
                [s('.cw-msg--bot .cw-bubble').color, s('.cw-msg--bot .cw-bubble').backgroundColor],
                [s('.cw-chip').color, s('.cw-chip').backgroundColor],
                [s('.cw-welcome').color, s('.cw-window').backgroundColor]];
    }}""")
    for foreground, background in colors:
        assert contrast(foreground, background) >= 4.5, (foreground, background)
    context.close()


def test_inline_mode_right_to_left_and_branding(page: Page, clean: Platform, host_site: HostSite) -> None:
    widget = clean.widget(
        config={
            "title": "مساعد",
            "direction": "rtl",
            "locale": "ar",
            "position": "left",
            "placeholder": "اكتب رسالتك",
            "theme": {"primary_color": "#7c2d12", "corner_radius": 4},
            "strings": {"send": "إرسال", "messageLabel": "رسالة"},
        }
    )
    url = host_site.embed(
        clean,
        widget,
        body='<div id="chat" style="width:420px;height:560px"></div>',
        attrs='data-mode="inline" data-target="#chat"',
    )
    page.goto(url)
    dialog = page.get_by_role("dialog", name="مساعد")
    expect(dialog).to_be_visible()
    expect(page.locator(".cw-launcher")).to_have_count(0)
    expect(page.get_by_role("textbox", name="رسالة")).to_have_attribute("placeholder", "اكتب رسالتك")
    assert page.evaluate(f"() => {SHADOW}.querySelector('.cw').getAttribute('dir')") == "rtl"
    header = page.evaluate(f"() => getComputedStyle({SHADOW}.querySelector('.cw-header')).backgroundColor")
    assert header == "rgb(124, 45, 18)"
    box = dialog.bounding_box()
    assert box is not None and box["width"] == 420


def test_an_unknown_widget_removes_itself_quietly(page: Page, clean: Platform, host_site: HostSite) -> None:
    html = (
        f'<!doctype html><body><script src="{clean.base_url}/widget.js" data-widget-id="{uuid.uuid4()}" '
        "defer></script></body>"
    )
    page.goto(host_site.page("unknown.html", html))
    page.wait_for_function("() => window.ChatWidget !== undefined")
    expect(page.locator("chat-widget-root")).to_have_count(0)


def test_the_demo_page_embeds_the_widget_and_shows_its_expiry(page: Page, clean: Platform) -> None:
    expires = datetime.now(UTC) + timedelta(hours=3)
    widget = clean.widget(is_demo=True, expires_at=expires, config={"title": "Pizza Roma"})
    page.goto(f"{clean.base_url}/v1/widgets/{widget.id}/demo")
    expect(page.get_by_role("note")).to_contain_text("available until")
    expect(page.locator("time")).to_have_attribute(
        "datetime", expires.replace(microsecond=expires.microsecond).isoformat()
    )
    page.get_by_role("button", name="Open chat").click()
    send(page, "Are you open on Saturday?")
    expect(page.locator(".cw-msg--bot", has_text="Saturdays")).to_be_visible()
    page.goto(f"{clean.base_url}/v1/widgets/{uuid.uuid4()}/demo")
    expect(page.get_by_role("heading")).to_have_text("This demo is not available")
