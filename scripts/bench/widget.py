"""Widget load benchmark: bundle size, and how fast the launcher appears on a customer's page.

Run from the repository root:

    .venv/bin/python -m scripts.bench.widget [--runs 20] [--json] [--check]

Size: the gzipped size (level 9) of `widget/dist/widget.js`, next to the gzipped browser bundles of
other chat widgets (figures quoted in the issue, not measured here). The bundle is rebuilt first
(`node build.mjs` in widget/) when it is missing or older than a file under widget/src/.

Timing, in Debian's headless Chromium, with everything set up and torn down by the run:
- a fresh database (`cwp_bench_widget`) on the embedded Postgres under `.data/bench-postgres`, or on
  the server `$DATABASE_URL` names, migrated, holding one client and one widget wired to the dev
  runner's sample bot;
- the dev runner (`python -m scripts.dev --no-seed`), which serves /widget.js and the API;
- a host page on another local port (a customer's site) embedding
  `<script src=".../widget.js" data-widget-id="..." defer></script>`;
- the baseline: the same page embedding instead a one-line script that appends a 56x56 fixed
  button, served from a third local port (cross-origin, like widget.js) with the same caching headers
  as the dev runner gives widget.js (Last-Modified of widget.js, an ETag, 304 on revalidation).

An init script in the page records, in ms since navigation start (`performance.now()`):
- script downloaded: the script's resource-timing `responseEnd`;
- script start: the first time the script reads `document.currentScript` (both scripts do it first
  thing, to find their tag); download end if it never does;
- script executed: the script element's `load` event (its synchronous part is done);
- config loaded: the `/config` request's resource-timing `responseEnd` (widget only);
- launcher shown (DOM): a MutationObserver sees the launcher's host in the page and not hidden (the
  widget hides its host until a config has been applied);
- launcher visible (frame): the first animation frame in which the launcher element has a non-empty
  box and computed `visibility: visible` (polled with requestAnimationFrame).

Each round loads each page cold (a fresh browser context: empty HTTP cache, no localStorage), then
warm (a new tab in the same context: HTTP cache and the widget's localStorage config cache filled
by the cold load). Rounds alternate which page goes first; medians and p90 over the rounds are
reported, and the widget's launcher-visible time against the baseline's (difference and ratio).

Target: widget.js at most 15 KB gzipped (1 KB = 1000 bytes). Exit status is 0 unless `--check` is
given and the target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

from scripts.bench.harness import (
    BENCH_DIR,
    Stat,
    StaticSite,
    bench_database,
    bench_parser,
    create_bench_widget,
    free_port,
    positive_int,
    serve_static,
    stop_process,
)
from scripts.chromium import CHROMIUM, CHROMIUM_ARGS
from scripts.dev import start_in_background
from scripts.localdb import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, CDPSession, ViewportSize

WIDGET_DIR = ROOT / "widget"
WIDGET_JS = WIDGET_DIR / "dist" / "widget.js"
DATABASE_NAME = "cwp_bench_widget"

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}
LOAD_TIMEOUT_MS = 20_000

KB = 1000
MAX_GZIP_BYTES = 15 * KB
# Gzipped browser bundles of other chat widgets, as quoted in the issue (not measured here).
ANCHORS_KB: tuple[tuple[str, float], ...] = (
    ("n8n @n8n/chat", 546),
    ("Flowise embed", 284),
    ("Typebot embed", 196),
    ("Botpress webchat", 180),
)

Variant = Literal["widget", "baseline"]
Load = Literal["cold", "warm"]
VARIANTS: tuple[Variant, Variant] = ("widget", "baseline")
LOADS: tuple[Load, Load] = ("cold", "warm")

# (key, label): every timing is in ms since navigation start unless its label says otherwise.
METRICS: tuple[tuple[str, str], ...] = (
    ("script_downloaded", "script downloaded"),
    ("script_start", "script start"),
    ("script_executed", "script executed"),
    ("config_loaded", "config loaded"),
    ("launcher_shown", "launcher shown (DOM)"),
    ("launcher_visible", "launcher visible (frame)"),
    ("visible_after_start", "launcher visible - script start"),
    ("config_after_start", "config loaded - script start"),
)

BASELINE_JS = (
    '(function(){var s=document.currentScript,b=document.createElement("button");b.type="button";'
    'b.setAttribute("aria-label","Chat");b.setAttribute("data-bench-launcher",s.dataset.widgetId||"");'
    'b.style.cssText="position:fixed;right:20px;bottom:20px;width:56px;height:56px;border:0;'
    'border-radius:50%;background:#2563eb;z-index:2147483000";document.body.appendChild(b)})();\n'
)

# Runs in every page before its own scripts. The timed script carries `data-bench-script`.
INIT_SCRIPT = """
(() => {
  if (window.top !== window) return;
  const bench = window.__bench = {
    scriptStart: null, scriptExecuted: null, shown: null, visible: null, storedConfig: false,
  };
  try {
    for (let i = 0; i < localStorage.length; i++) {
      if ((localStorage.key(i) || "").endsWith(":config")) bench.storedConfig = true;
    }
  } catch (e) {}
  const isBenchScript = (node) => node instanceof HTMLScriptElement && node.hasAttribute("data-bench-script");
  const current = Object.getOwnPropertyDescriptor(Document.prototype, "currentScript");
  Object.defineProperty(Document.prototype, "currentScript", {
    configurable: true,
    enumerable: current.enumerable,
    get() {
      const script = current.get.call(this);
      if (bench.scriptStart === null && isBenchScript(script)) bench.scriptStart = performance.now();
      return script;
    },
  });
  document.addEventListener("load", (event) => {
    if (bench.scriptExecuted === null && isBenchScript(event.target)) bench.scriptExecuted = performance.now();
  }, true);
  const host = () => document.querySelector("chat-widget-root, [data-bench-launcher]");
  const launcher = () => {
    const found = host();
    if (!found || found.hasAttribute("data-bench-launcher")) return found;
    return found.shadowRoot ? found.shadowRoot.querySelector(".cw-launcher") : null;
  };
  const observer = new MutationObserver(() => {
    const found = host();
    if (found && found.style.getPropertyValue("visibility") !== "hidden") {
      bench.shown = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ["style"] });
  const poll = () => {
    const element = launcher();
    if (element) {
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.height > 0 && getComputedStyle(element).visibility === "visible") {
        bench.visible = performance.now();
        return;
      }
    }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})();
"""

# Resolves once the launcher is visible and, for the widget, its config request has finished.
DONE_CONDITION = """
(needsConfig) => window.__bench && window.__bench.visible !== null && window.__bench.shown !== null
  && (!needsConfig || performance.getEntriesByType("resource").some((e) => e.name.endsWith("/config")))
"""

COLLECT = """
() => {
  const script = document.querySelector("script[data-bench-script]");
  const entries = performance.getEntriesByType("resource");
  const find = (test) => { const entry = entries.find(test); return entry ? entry.responseEnd : null; };
  return {
    ...window.__bench,
    scriptDownloaded: find((e) => e.name === script.src),
    configLoaded: find((e) => e.name.endsWith("/config")),
  };
}
"""


# --------------------------------------------------------------------------------------------------
# Size


@dataclass(frozen=True)
class Anchor:
    name: str
    gzip_kb: float
    times_smaller: float


@dataclass(frozen=True)
class SizeReport:
    raw_bytes: int
    gzip_bytes: int
    gzip_kb: float
    max_gzip_kb: float
    passed: bool
    anchors: list[Anchor]


def needs_build() -> bool:
    """dist/widget.js is missing or older than a source file (or the build script)."""
    if not WIDGET_JS.exists():
        return True
    sources = [p for p in (WIDGET_DIR / "src").rglob("*") if p.is_file()] + [WIDGET_DIR / "build.mjs"]
    newest = max(p.stat().st_mtime for p in sources)
    return WIDGET_JS.stat().st_mtime < newest


def build_widget(progress: bool) -> None:
    if progress:
        print("building widget/dist/widget.js (node build.mjs) ...", file=sys.stderr)
    completed = subprocess.run(
        ["node", "build.mjs"], cwd=WIDGET_DIR, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0 or not WIDGET_JS.exists():
        raise SystemExit(f"building the widget failed:\n{completed.stdout}{completed.stderr}")


def measure_size() -> SizeReport:
    raw = WIDGET_JS.read_bytes()
    gzip_bytes = len(gzip.compress(raw, compresslevel=9, mtime=0))
    gzip_kb = gzip_bytes / KB
    return SizeReport(
        raw_bytes=len(raw),
        gzip_bytes=gzip_bytes,
        gzip_kb=round(gzip_kb, 2),
        max_gzip_kb=MAX_GZIP_BYTES / KB,
        passed=gzip_bytes <= MAX_GZIP_BYTES,
        anchors=[Anchor(name, kb, round(kb / gzip_kb, 1)) for name, kb in ANCHORS_KB],
    )


# --------------------------------------------------------------------------------------------------
# Platform: database, widget, dev runner


@contextlib.contextmanager
def dev_runner(database_url: str, port: int) -> Iterator[None]:
    """The dev runner as `make dev` runs it, on the bench database, quiet; stopped on exit."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    log_path = BENCH_DIR / "widget-dev-runner.log"
    process = start_in_background(database_url=database_url, port=port, log_path=log_path)
    try:
        yield
    finally:
        stop_process(process)
    if process.returncode not in (0, -15):
        print(f"note: the dev runner exited with {process.returncode}; see {log_path}", file=sys.stderr)


def wait_until_serving(base_url: str, widget_id: UUID, within: float = 90) -> None:
    import httpx

    deadline = time.monotonic() + within
    with httpx.Client(base_url=base_url, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                config = client.get(f"/v1/widgets/{widget_id}/config")
                script = client.get("/widget.js")
                if config.status_code == 200 and script.status_code == 200:
                    return
            time.sleep(0.2)
    raise SystemExit(
        f"the dev runner did not serve within {within:g} s; see {BENCH_DIR / 'widget-dev-runner.log'}"
    )


# --------------------------------------------------------------------------------------------------
# The customer's site (served with harness.serve_static, as is the baseline script's origin)


def host_page(script_src: str, widget_id: UUID) -> bytes:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,"><title>Customer site</title>'
        "</head><body><h1>Customer site</h1><p>A page of a customer's website.</p>"
        f'<script src="{script_src}" data-widget-id="{widget_id}" data-bench-script defer></script>'
        "</body></html>"
    ).encode()


# --------------------------------------------------------------------------------------------------
# Browser measurements


@dataclass(frozen=True)
class Sample:
    """One page load, in ms since navigation start."""

    script_downloaded: float
    script_start: float
    script_start_measured: bool  # False: the script never read document.currentScript
    script_executed: float | None
    config_loaded: float | None
    launcher_shown: float
    launcher_visible: float
    stored_config: bool  # the widget's config cache was in localStorage before the load
    script_source: str  # network / 304 / cache
    config_source: str | None

    @property
    def visible_after_start(self) -> float:
        return self.launcher_visible - self.script_start

    @property
    def config_after_start(self) -> float | None:
        return None if self.config_loaded is None else self.config_loaded - self.script_start

    def metric(self, key: str) -> float | None:
        value = getattr(self, key)
        return None if value is None else float(value)


class NetworkLog:
    """Where each response came from (network, revalidated, cache), read through CDP."""

    def __init__(self) -> None:
        self.urls: dict[str, str] = {}
        self.sources: dict[str, str] = {}

    def attach(self, session: CDPSession) -> None:
        session.on("Network.requestWillBeSent", self._sent)
        session.on("Network.requestServedFromCache", self._from_cache)
        session.on("Network.responseReceived", self._received)

    def _sent(self, event: dict[str, Any]) -> None:
        self.urls[event["requestId"]] = event["request"]["url"]

    def _from_cache(self, event: dict[str, Any]) -> None:
        url = self.urls.get(event["requestId"])
        if url:
            self.sources[url] = "cache"

    def _received(self, event: dict[str, Any]) -> None:
        url, response = event["response"]["url"], event["response"]
        if (
            self.sources.get(url) == "cache"
            or response.get("fromDiskCache")
            or response.get("fromPrefetchCache")
        ):
            self.sources[url] = "cache"
        elif response.get("status") == 304:
            self.sources[url] = "304"
        else:
            self.sources[url] = "network"

    def source(self, test: Callable[[str], bool]) -> str | None:
        return next((source for url, source in self.sources.items() if test(url)), None)


def load_page(context: BrowserContext, url: str, script_url: str, needs_config: bool) -> Sample:
    """Open `url` in a new tab of `context`, wait for the launcher, collect the marks, close the tab."""
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type in ("error", "warning")
            else None
        ),
    )
    network = NetworkLog()
    session = context.new_cdp_session(page)
    network.attach(session)
    session.send("Network.enable")
    try:
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        page.wait_for_function(DONE_CONDITION, arg=needs_config, timeout=LOAD_TIMEOUT_MS)
        marks: dict[str, Any] = page.evaluate(COLLECT)
    finally:
        page.close()
    if problems:
        raise SystemExit(f"{url}: " + "; ".join(problems))
    downloaded = float(marks["scriptDownloaded"])
    start = marks["scriptStart"]
    return Sample(
        script_downloaded=downloaded,
        script_start=float(start) if start is not None else downloaded,
        script_start_measured=start is not None,
        script_executed=marks["scriptExecuted"],
        config_loaded=marks["configLoaded"] if needs_config else None,
        launcher_shown=float(marks["shown"]),
        launcher_visible=float(marks["visible"]),
        stored_config=bool(marks["storedConfig"]),
        script_source=network.source(lambda u: u == script_url) or "unknown",
        config_source=network.source(lambda u: u.endswith("/config")) if needs_config else None,
    )


def load_cold_and_warm(
    browser: Browser, url: str, script_url: str, needs_config: bool
) -> tuple[Sample, Sample]:
    """A cold load in a fresh context, then a warm load in a new tab of the same context."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(script=INIT_SCRIPT)
        cold = load_page(context, url, script_url, needs_config)
        warm = load_page(context, url, script_url, needs_config)
    finally:
        context.close()
    return cold, warm


@dataclass(frozen=True)
class Pages:
    urls: dict[Variant, str]
    scripts: dict[Variant, str]


def measure_loads(pages: Pages, runs: int, progress: bool) -> tuple[str, dict[str, list[Sample]]]:
    """One untimed round, then `runs` rounds alternating which page goes first; returns the
    browser's version and the samples per "<variant> <load>"."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium")
    samples: dict[str, list[Sample]] = {f"{v} {load}": [] for v in VARIANTS for load in LOADS}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for variant in VARIANTS:  # warm-up: first requests, code caches, connection set-up
                load_cold_and_warm(browser, pages.urls[variant], pages.scripts[variant], variant == "widget")
            for round_no in range(runs):
                order = VARIANTS if round_no % 2 == 0 else VARIANTS[::-1]
                for variant in order:
                    cold, warm = load_cold_and_warm(
                        browser, pages.urls[variant], pages.scripts[variant], variant == "widget"
                    )
                    samples[f"{variant} cold"].append(cold)
                    samples[f"{variant} warm"].append(warm)
                if progress:
                    print(f"round {round_no + 1}/{runs}", file=sys.stderr)
            version = str(browser.version)
        finally:
            browser.close()
    return version, samples


# --------------------------------------------------------------------------------------------------
# Summary and report


@dataclass(frozen=True)
class Summary:
    """One page (widget or baseline) loaded one way (cold or warm), over all rounds."""

    variant: Variant
    load: Load
    metrics: dict[str, Stat | None]
    script_start_measured: int
    stored_config: int
    script_sources: dict[str, int]
    config_sources: dict[str, int]


@dataclass(frozen=True)
class Comparison:
    """The widget's launcher-visible time against the baseline's (medians)."""

    load: Load
    widget_ms: float
    baseline_ms: float
    difference_ms: float
    ratio: float


def count(values: list[str | None]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        if value is not None:
            counts[value] = counts.get(value, 0) + 1
    return counts


def summarise(samples: dict[str, list[Sample]]) -> tuple[list[Summary], list[Comparison]]:
    summaries = []
    for load in LOADS:
        for variant in VARIANTS:
            own = samples[f"{variant} {load}"]
            metrics: dict[str, Stat | None] = {}
            for key, _ in METRICS:
                values = [v for v in (s.metric(key) for s in own) if v is not None]
                metrics[key] = Stat.of(values) if values else None
            summaries.append(
                Summary(
                    variant=variant,
                    load=load,
                    metrics=metrics,
                    script_start_measured=sum(s.script_start_measured for s in own),
                    stored_config=sum(s.stored_config for s in own),
                    script_sources=count([s.script_source for s in own]),
                    config_sources=count([s.config_source for s in own]),
                )
            )
    comparisons = []
    by_key = {(s.variant, s.load): s for s in summaries}
    for load in LOADS:
        widget = by_key["widget", load].metrics["launcher_visible"]
        baseline = by_key["baseline", load].metrics["launcher_visible"]
        assert widget is not None and baseline is not None
        comparisons.append(
            Comparison(
                load=load,
                widget_ms=widget.median,
                baseline_ms=baseline.median,
                difference_ms=round(widget.median - baseline.median, 1),
                ratio=round(widget.median / baseline.median, 2),
            )
        )
    return summaries, comparisons


def format_size(size: SizeReport) -> str:
    lines = [
        "| bundle (gzip -9) | gzipped | ours is |",
        "|---|--:|--:|",
        f"| chat-widget-platform widget.js ({size.raw_bytes:,} B raw) | {size.gzip_kb:.1f} KB "
        f"({size.gzip_bytes:,} B) | - |",
    ]
    for anchor in size.anchors:
        lines.append(
            f"| {anchor.name} (issue's figure) | ~{anchor.gzip_kb:g} KB | {anchor.times_smaller:.0f}x smaller |"
        )
    verdict = "PASS" if size.passed else "FAIL"
    lines.append("")
    lines.append(f"Target: <= {size.max_gzip_kb:g} KB gzipped (1 KB = 1000 B): {verdict}")
    return "\n".join(lines)


def format_timings(summaries: list[Summary]) -> str:
    columns = [(s.load, s.variant) for s in summaries]
    by_key = {(s.load, s.variant): s for s in summaries}
    lines = [
        "| ms since navigation start, median (p90) | "
        + " | ".join(f"{v} {load}" for load, v in columns)
        + " |",
        "|---|" + "--:|" * len(columns),
    ]
    for key, label in METRICS:
        cells = []
        for column in columns:
            stat = by_key[column].metrics[key]
            cells.append("-" if stat is None else f"{stat.median:.1f} ({stat.p90:.1f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_comparison(comparisons: list[Comparison]) -> str:
    lines = [
        "| launcher visible, median | widget | baseline | widget - baseline | widget / baseline |",
        "|---|--:|--:|--:|--:|",
    ]
    for c in comparisons:
        lines.append(
            f"| {c.load} | {c.widget_ms:.1f} ms | {c.baseline_ms:.1f} ms | {c.difference_ms:+.1f} ms | {c.ratio:.2f}x |"
        )
    return "\n".join(lines)


def format_notes(summaries: list[Summary], runs: int) -> str:
    lines = []
    for s in summaries:
        sources = ", ".join(f"{name} {n}" for name, n in sorted(s.script_sources.items()))
        line = f"- {s.variant} {s.load}: script from {sources}"
        if s.variant == "widget":
            config = ", ".join(f"{name} {n}" for name, n in sorted(s.config_sources.items()))
            line += f"; config from {config}; config cached in localStorage {s.stored_config}/{runs}"
        if s.script_start_measured < runs:
            line += f"; script start = download end in {runs - s.script_start_measured}/{runs}"
        lines.append(line)
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__, check="exit 1 if widget.js is over 15 KB gzipped")
    parser.add_argument(
        "--runs", type=positive_int, default=20, help="rounds (cold + warm load of each page, default 20)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    progress = not args.json
    if needs_build():
        build_widget(progress)
    size = measure_size()

    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(bench_database(DATABASE_NAME)).url
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        widget_id = asyncio.run(
            create_bench_widget(database_url, f"{base_url}/dev/sample-bot", name="Widget bench", config={})
        )
        stack.enter_context(dev_runner(database_url, port))
        if progress:
            print(f"dev runner on {base_url}, widget {widget_id}", file=sys.stderr)
        wait_until_serving(base_url, widget_id)
        static = stack.enter_context(
            serve_static(
                StaticSite(
                    files={"/baseline.js": ("application/javascript", BASELINE_JS.encode(), True)},
                    last_modified=WIDGET_JS.stat().st_mtime,
                )
            )
        )
        scripts: dict[Variant, str] = {
            "widget": f"{base_url}/widget.js",
            "baseline": f"{static.base_url}/baseline.js",
        }
        host = stack.enter_context(
            serve_static(
                StaticSite(
                    files={
                        f"/{variant}.html": ("text/html; charset=utf-8", host_page(src, widget_id), False)
                        for variant, src in scripts.items()
                    }
                )
            )
        )
        pages = Pages(urls={v: f"{host.base_url}/{v}.html" for v in VARIANTS}, scripts=scripts)
        chromium, samples = measure_loads(pages, args.runs, progress)

    summaries, comparisons = summarise(samples)
    if args.json:
        payload = {
            "runs": args.runs,
            "chromium": chromium,
            "python": sys.version.split()[0],
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "size": asdict(size),
            "timings": [asdict(s) for s in summaries],
            "launcher_visible_vs_baseline": [asdict(c) for c in comparisons],
            "passed": size.passed,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(f"Widget load: Chromium {chromium}, {args.runs} rounds, {os.cpu_count()} CPUs\n")
        print(format_size(size))
        print()
        print(format_timings(summaries))
        print()
        print(format_comparison(comparisons))
        print()
        print(format_notes(summaries, args.runs))
    return 1 if args.check and not size.passed else 0


if __name__ == "__main__":
    sys.exit(main())
