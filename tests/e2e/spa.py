"""What the admin SPA's browser tests share: users made as `scripts/create_user.py` makes them, the
admin API from Python, signing in through the page, the axe-core check and the screenshots under
docs/. The fixtures that use them (`admin_api`, `context`, `spa`) are in conftest.py."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from playwright.sync_api import Page, ViewportSize, expect

from scripts.create_user import add_user
from shared.db import Database
from shared.models import Role

if TYPE_CHECKING:
    from tests.e2e.conftest import Platform

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
AXE_JS = ROOT / "admin" / "node_modules" / "axe-core" / "axe.min.js"
ADMIN_EMAIL = "operator@agency.test"
ADMIN_PASSWORD = "correct horse battery staple"
VIEWER_PASSWORD = "viewer password 123"
SESSION_KEY = "cwp.session"
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


def make_user(platform: Platform, *, email: str, password: str, role: Role = "admin") -> None:
    """A user in the platform's database, made as `scripts/create_user.py` makes one."""

    async def create() -> None:
        db = Database(platform.database_url)
        try:
            await add_user(db, email=email, role=role, password=password)
        finally:
            await db.close()

    # Playwright's sync API owns this thread's event loop: run ours on another thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, create()).result()


class AdminApi:
    """The admin API from Python, signed in as the test's admin."""

    def __init__(
        self, platform: Platform, *, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD
    ) -> None:
        self.http = httpx.Client(base_url=platform.base_url, timeout=20)
        token = self.call("POST", "/v1/auth/login", json={"email": email, "password": password})[
            "access_token"
        ]
        self.http.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, path, **kwargs)
        assert response.is_success, (method, path, response.status_code, response.text)
        return response.json()


def check_accessibility(page: Page, what: str) -> None:
    """axe-core on the page as it is now: no serious or critical violation."""
    if not page.evaluate("() => 'axe' in window"):
        page.add_script_tag(path=str(AXE_JS))
    results = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    bad = [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in results
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{what}: {json.dumps(bad, indent=1)}"


def screenshot(page: Page, name: str) -> None:
    """docs/admin-NAME-desktop.png and docs/admin-NAME-phone.png of the page as it is now."""
    page.screenshot(path=str(DOCS / f"admin-{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(DOCS / f"admin-{name}-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def sign_in(page: Page, platform: Platform, email: str, password: str) -> None:
    page.goto(f"{platform.base_url}/admin/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Dashboard")).to_be_visible()
