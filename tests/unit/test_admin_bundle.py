"""The built admin SPA loads fast: the JavaScript its index.html loads at first (the entry module and
what it preloads) is at most 150 KB gzipped, and all of it comes from our own origin (no CDN)."""

from __future__ import annotations

import gzip
from html.parser import HTMLParser
from pathlib import Path

ADMIN_DIST = Path(__file__).resolve().parents[2] / "admin" / "dist"
BASE = "/admin/"
MAX_INITIAL_GZIPPED_BYTES = 150 * 1024


class InitialAssets(HTMLParser):
    """The scripts and module preloads index.html names, and every other URL it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[str] = []
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        url = values.get("src") or values.get("href")
        if url:
            self.urls.append(url)
        if tag == "script" and values.get("src"):
            self.scripts.append(values["src"] or "")
        if tag == "link" and values.get("rel") == "modulepreload" and values.get("href"):
            self.scripts.append(values["href"] or "")


def initial_assets() -> InitialAssets:
    index = ADMIN_DIST / "index.html"
    assert index.exists(), "admin/dist/index.html is missing: run `make admin` (make test does)"
    parser = InitialAssets()
    parser.feed(index.read_text(encoding="utf-8"))
    return parser


def test_the_initial_javascript_is_at_most_150_kb_gzipped() -> None:
    # Given the built SPA's index.html
    scripts = initial_assets().scripts
    assert scripts, "index.html loads no script"
    # When its initial scripts are gzipped as a CDN would serve them
    size = 0
    for url in scripts:
        assert url.startswith(BASE), url
        size += len(gzip.compress((ADMIN_DIST / url.removeprefix(BASE)).read_bytes(), compresslevel=9))
    # Then they fit the budget
    assert size <= MAX_INITIAL_GZIPPED_BYTES, (
        f"initial JS is {size} bytes gzipped (limit {MAX_INITIAL_GZIPPED_BYTES})"
    )


def test_everything_index_html_loads_is_served_from_our_own_origin() -> None:
    for url in initial_assets().urls:
        assert url.startswith(BASE), f"{url}: the SPA must bundle what it loads (no CDN at runtime)"
        assert (ADMIN_DIST / url.removeprefix(BASE)).is_file(), url
