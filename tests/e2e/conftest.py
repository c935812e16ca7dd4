"""Browser tests: the built widget in Debian's headless Chromium, against the real dev runner.

The dev runner serves the platform (and its sample bot) on one port; host pages are served from
another port, so every call the widget makes is cross-origin, as on a customer's site.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from scripts.bench.harness import StaticSite, free_port, serve_static
from scripts.chromium import CHROMIUM, CHROMIUM_ARGS
from scripts.dev import start_in_background
from shared.db import Database
from shared.models import Widget
from tests.conftest import DATA_TABLES
from tests.e2e.spa import ADMIN_EMAIL, ADMIN_PASSWORD, DESKTOP, AdminApi, make_user
from tests.factories import make_widget

ROOT = Path(__file__).resolve().parents[2]
WIDGET_JS = ROOT / "widget" / "dist" / "widget.js"


@dataclass
class Platform:
    base_url: str
    database_url: str

    def widget(self, **kwargs: Any) -> Widget:
        """A widget in the platform's database (wired to the sample bot unless told otherwise)."""
        kwargs.setdefault("webhook_url", f"{self.base_url}/dev/sample-bot")

        async def create() -> Widget:
            db = Database(self.database_url)
            try:
                widget, _ = await make_widget(db, **kwargs)
                return widget
            finally:
                await db.close()

        # Playwright's sync API owns this thread's event loop: run ours on another thread.
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, create()).result()

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.database_url) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture(scope="session")
def platform(worker_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The dev runner on this worker's database, with widget rows never cached (tests change them)."""
    if not WIDGET_JS.exists():
        pytest.fail("widget/dist/widget.js is missing: run `make widget` (make test does)")
    port = free_port()
    log = tmp_path_factory.mktemp("dev") / "dev.log"
    proc = start_in_background(
        database_url=worker_database_url,
        port=port,
        log_path=log,
        env={"WIDGET_CACHE_SECONDS": "0", "WEBHOOK_TIMEOUT_SECONDS": "5"},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{base}/widget.js", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield Platform(base_url=base, database_url=worker_database_url)
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def clean(platform: Platform) -> Platform:
    with psycopg.connect(platform.database_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(DATA_TABLES)} CASCADE")
    return platform


@dataclass
class HostSite:
    """Pages on another origin than the platform, standing in for a customer's website."""

    site: StaticSite

    def page(self, name: str, html: str) -> str:
        self.site.files[f"/{name}"] = ("text/html; charset=utf-8", html.encode(), False)
        return f"{self.site.base_url}/{name}"

    def embed(
        self, platform: Platform, widget: Widget, *, head: str = "", body: str = "", attrs: str = ""
    ) -> str:
        html = (
            f'<!doctype html><html><head><meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>Customer site</title>{head}</head><body><h1>Customer site</h1>{body}"
            f'<script src="{platform.base_url}/widget.js" data-widget-id="{widget.id}" {attrs} defer></script>'
            "</body></html>"
        )
        return self.page(f"{widget.id}-{len(self.site.files)}.html", html)


@pytest.fixture(scope="session")
def host_site() -> Iterator[HostSite]:
    with serve_static(StaticSite()) as site:
        yield HostSite(site)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


@pytest.fixture
def admin_api(clean: Platform) -> Iterator[AdminApi]:
    make_user(clean, email=ADMIN_EMAIL, password=ADMIN_PASSWORD)
    api = AdminApi(clean)
    yield api
    api.http.close()


@pytest.fixture
def context(browser: Browser, clean: Platform) -> Iterator[BrowserContext]:
    """A browser context that may use the clipboard on the platform's origin."""
    if not (ROOT / "admin" / "dist" / "index.html").exists():
        pytest.fail("admin/dist is missing: run `make admin` (make test does)")
    context = browser.new_context(viewport=DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=clean.base_url)
    yield context
    context.close()


@pytest.fixture
def spa(context: BrowserContext) -> Iterator[Page]:
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert errors == [], f"uncaught errors in the page: {errors}"
