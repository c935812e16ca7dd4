"""Admin SPA benchmark: how fast the sign-in form and a 90-day analytics page appear in Chromium,
next to the SPA's initial JavaScript size, against a static empty page measured in the same run.

Run from the repository root (after `make admin`):

    .venv/bin/python -m scripts.bench.spa [--rows 500000] [--runs 10] [--json] [--check]

Set-up, all made and torn down by the run:
- a fresh database (`cwp_bench_spa`) on the embedded bench Postgres (or $DATABASE_URL's server)
  holding the analytics bench's data set (scripts/bench/analytics.py: 50 widgets, `--rows` chat logs
  over 180 days, generated and backfilled by that bench's own functions) and one admin;
- the dev runner (`python -m scripts.dev --no-seed --no-jobs`), which serves the built SPA at
  /admin/ and the API on one port, as CloudFront does in AWS;
- the baseline: a static empty page (a heading and a paragraph, no script) served from memory by a
  local HTTP server (scripts/bench/harness.serve_static).

Three pages, each loaded cold (a fresh browser context: empty HTTP cache) then warm (a new tab in
the same context), rounds alternating the order; an init script polls every animation frame and
records, in ms since navigation start, the first frame in which the page's "ready" condition holds:
- baseline: its heading has a box;
- sign-in: `/admin/signin` shows the form's password field (nobody signed in);
- analytics: `/admin/analytics/widgets/<widget>?days=90&tz=UTC` for the first bench widget (about
  1/50 of the rows), signed in (the session put in sessionStorage before the load, as after a
  sign-in): the four charts have drawn their canvases, the heatmap table is there and the report is
  not busy. The API answer's own time (resource timing) is reported alongside.

Size: the JavaScript the sign-in page actually loads (its resource-timing entries under
/admin/assets/), gzipped at level 9 from admin/dist, against the 150 KB budget (1 KB = 1024 B, as
tests/unit/test_admin_bundle.py counts it); the analytics page's extra (lazy) JavaScript beside it.
Exit status is 0 unless `--check` is given and the initial JS is over budget.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx

from scripts.bench.analytics import DAYS, generate, run_rollup_timed, widget_ids
from scripts.bench.harness import (
    BENCH_DIR,
    Stat,
    StaticSite,
    bench_database,
    bench_parser,
    free_port,
    positive_int,
    serve_static,
    stop_process,
    verdict,
)
from scripts.chromium import CHROMIUM, CHROMIUM_ARGS
from scripts.dev import start_in_background
from scripts.localdb import ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

ADMIN_DIST = ROOT / "admin" / "dist"
ASSETS = "/admin/assets/"
DATABASE_NAME = "cwp_bench_spa"
ADMIN_EMAIL = "bench@agency.test"
ADMIN_PASSWORD = "bench password 123"  # noqa: S105 (a throwaway bench database)
SESSION_KEY = "cwp.session"  # admin/src/session.tsx
KB = 1024
MAX_INITIAL_GZIP_BYTES = 150 * KB
LOAD_TIMEOUT_MS = 60_000
PAGES = ("baseline", "signin", "analytics")
LOADS = ("cold", "warm")

BASELINE_HTML = (
    b'<!doctype html><html lang="en"><head><meta charset="utf-8">'
    b'<meta name="viewport" content="width=device-width,initial-scale=1"><link rel="icon" href="data:,">'
    b"<title>Empty</title></head><body><h1>Empty page</h1><p>A static page with no script.</p></body></html>"
)

# What "ready" means on each page (a JavaScript expression, evaluated every animation frame).
READY = {
    "baseline": "(() => { const h = document.querySelector('h1'); return !!h && h.getBoundingClientRect().height > 0; })()",
    "signin": "(() => { const p = document.querySelector('form input[type=password]'); return !!p && p.getBoundingClientRect().height > 0; })()",
    "analytics": (
        "document.querySelectorAll('figure.chart canvas').length >= 4"
        " && !!document.querySelector('table.heatmap')"
        " && !!document.querySelector('.report[aria-busy=\"false\"]')"
    ),
}

# Runs before the page's own scripts: optionally a stored session, then the per-frame poll.
INIT_SCRIPT = """
(([ready, session, key]) => {
  if (window.top !== window) return;
  if (session) sessionStorage.setItem(key, session);
  window.__ready = null;
  const check = new Function("return " + ready);
  const poll = () => {
    let done = false;
    try { done = check(); } catch (e) {}
    if (done) { window.__ready = performance.now(); return; }
    requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})(%s);
"""

COLLECT = """
() => ({
  ready: window.__ready,
  resources: performance.getEntriesByType("resource").map((e) => ({
    path: new URL(e.name).pathname, start: e.startTime, end: e.responseEnd,
  })),
})
"""

# Where the time of a page goes: the last resource of each kind, done (ms since navigation start).
STEPS: tuple[tuple[str, str], ...] = (
    ("entry_js", "entry JavaScript downloaded"),
    ("session", "session confirmed (GET /v1/auth/me)"),
    ("lazy_js", "analytics code downloaded (lazy chunk)"),
    ("api", "analytics API answered"),
)


@dataclass(frozen=True)
class Sample:
    ready_ms: float
    scripts: list[str]
    api_ms: float | None  # the analytics API request's own time
    steps: dict[str, float]


@dataclass(frozen=True)
class Size:
    initial_files: list[str]
    initial_gzip_bytes: int
    initial_raw_bytes: int
    analytics_files: list[str]
    analytics_gzip_bytes: int
    max_initial_gzip_bytes: int

    @property
    def passed(self) -> bool:
        return self.initial_gzip_bytes <= self.max_initial_gzip_bytes


# --------------------------------------------------------------------------------------------------
# Data and platform


async def prepare_data(url: str, rows: int, progress: bool) -> str:
    """The analytics bench's data set, backfilled, and an admin; returns the first widget's id."""
    from scripts.create_user import add_user
    from shared.db import Database

    now = datetime.now(UTC)
    widgets = await widget_ids(url)
    generate(url, 0, rows, end=now - timedelta(minutes=10), progress=progress)
    backfill_s = await run_rollup_timed(url, now=now, since=now.date() - timedelta(days=DAYS))
    if progress:
        print(f"  backfill {backfill_s:.1f} s", file=sys.stderr)
    db = Database(url)
    try:
        await add_user(db, email=ADMIN_EMAIL, role="admin", password=ADMIN_PASSWORD)
    finally:
        await db.close()
    return widgets[0]


def wait_until_serving(base_url: str, within: float = 90) -> None:
    deadline = time.monotonic() + within
    with httpx.Client(base_url=base_url, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.TransportError):
                if client.get("/admin/").status_code == 200:
                    return
            time.sleep(0.2)
    raise SystemExit(
        f"the dev runner did not serve within {within:g} s; see {BENCH_DIR / 'spa-dev-runner.log'}"
    )


def stored_session(base_url: str) -> str:
    """The sessionStorage value the SPA keeps after signing in (admin/src/session.tsx)."""
    answer = httpx.post(
        f"{base_url}/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=20
    )
    answer.raise_for_status()
    body = answer.json()
    return json.dumps({"token": body["access_token"], "expiresAt": body["expires_at"], "user": body["user"]})


# --------------------------------------------------------------------------------------------------
# Browser


def load(context: BrowserContext, url: str) -> Sample:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    try:
        page.goto(url, wait_until="load", timeout=LOAD_TIMEOUT_MS)
        try:
            page.wait_for_function("() => window.__ready !== null", timeout=LOAD_TIMEOUT_MS)
        except PlaywrightTimeoutError:
            raise SystemExit(f"{url} never got ready; it shows: {page.inner_text('body')[:500]!r}") from None
        marks: dict[str, Any] = page.evaluate(COLLECT)
    finally:
        page.close()
    if problems:
        raise SystemExit(f"{url}: " + "; ".join(problems))
    resources: list[dict[str, Any]] = marks["resources"]
    scripts = [r["path"] for r in resources if r["path"].startswith(ASSETS) and r["path"].endswith(".js")]
    api = [r for r in resources if r["path"].startswith("/v1/analytics/widgets/")]
    kinds = {
        "entry_js": [
            r for r in resources if r["path"].startswith(f"{ASSETS}index-") and r["path"].endswith(".js")
        ],
        "session": [r for r in resources if r["path"] == "/v1/auth/me"],
        # Vite names the lazy chunk after admin/src/pages/analytics/pages.tsx.
        "lazy_js": [
            r for r in resources if r["path"].startswith(f"{ASSETS}pages-") and r["path"].endswith(".js")
        ],
        "api": api,
    }
    return Sample(
        ready_ms=float(marks["ready"]),
        scripts=scripts,
        api_ms=float(api[-1]["end"] - api[-1]["start"]) if api else None,
        steps={name: float(found[-1]["end"]) for name, found in kinds.items() if found},
    )


def cold_and_warm(browser: Browser, page: str, url: str, session: str | None) -> tuple[Sample, Sample]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, timezone_id="UTC")
    try:
        context.add_init_script(script=INIT_SCRIPT % json.dumps([READY[page], session, SESSION_KEY]))
        return load(context, url), load(context, url)
    finally:
        context.close()


def measure(
    urls: dict[str, str], session: str, runs: int, progress: bool
) -> tuple[str, dict[str, list[Sample]]]:
    from playwright.sync_api import sync_playwright

    samples: dict[str, list[Sample]] = {f"{p} {load}": [] for p in PAGES for load in LOADS}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for page in PAGES:  # warm-up: server-side caches, connections, the database's buffers
                cold_and_warm(browser, page, urls[page], session if page == "analytics" else None)
            for round_no in range(runs):
                order = PAGES if round_no % 2 == 0 else PAGES[::-1]
                for page in order:
                    cold, warm = cold_and_warm(
                        browser, page, urls[page], session if page == "analytics" else None
                    )
                    samples[f"{page} cold"].append(cold)
                    samples[f"{page} warm"].append(warm)
                if progress:
                    print(f"round {round_no + 1}/{runs}", file=sys.stderr)
            version = str(browser.version)
        finally:
            browser.close()
    return version, samples


# --------------------------------------------------------------------------------------------------
# Size and report


def gzipped(path: str) -> tuple[int, int]:
    raw = (ADMIN_DIST / path.removeprefix("/admin/")).read_bytes()
    return len(raw), len(gzip.compress(raw, compresslevel=9, mtime=0))


def measure_size(samples: dict[str, list[Sample]]) -> Size:
    """The JS the sign-in page loaded (cold), and what the analytics page loaded on top of it."""
    initial = sorted(
        {s for s in samples["signin cold"][0].scripts if s.startswith(ASSETS) and s.endswith(".js")}
    )
    analytics = sorted(
        {s for s in samples["analytics cold"][0].scripts if s.startswith(ASSETS) and s.endswith(".js")}
        - set(initial)
    )
    sizes = [gzipped(path) for path in initial]
    return Size(
        initial_files=initial,
        initial_gzip_bytes=sum(g for _, g in sizes),
        initial_raw_bytes=sum(r for r, _ in sizes),
        analytics_files=analytics,
        analytics_gzip_bytes=sum(gzipped(path)[1] for path in analytics),
        max_initial_gzip_bytes=MAX_INITIAL_GZIP_BYTES,
    )


def summarise(samples: dict[str, list[Sample]]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for key, own in samples.items():
        _, load_kind = key.split()
        ready = Stat.of([s.ready_ms for s in own])
        baseline = statistics.median(s.ready_ms for s in samples[f"baseline {load_kind}"])
        api = [s.api_ms for s in own if s.api_ms is not None]
        steps = {
            name: asdict(Stat.of([s.steps[name] for s in own]))
            for name, _ in STEPS
            if all(name in s.steps for s in own)
        }
        summary[key] = {
            "ready": asdict(ready),
            "steps": steps,
            "vs_baseline": round(ready.median / baseline, 2),
            "over_baseline_ms": round(ready.median - baseline, 1),
            "api": asdict(Stat.of(api)) if api else None,
        }
    return summary


def report(size: Size, summary: dict[str, dict[str, Any]], chromium: str, rows: int, runs: int) -> str:
    lines = [
        f"Admin SPA: Chromium {chromium}, {rows:,} chat logs, {runs} rounds, {os.cpu_count()} CPUs",
        "",
        "| JavaScript (gzip -9) | files | gzipped | raw |",
        "|---|--:|--:|--:|",
        f"| initial (what the sign-in page loads) | {len(size.initial_files)} | "
        f"{size.initial_gzip_bytes / KB:.1f} KB | {size.initial_raw_bytes / KB:.1f} KB |",
        f"| analytics route, loaded lazily on top | {len(size.analytics_files)} | "
        f"{size.analytics_gzip_bytes / KB:.1f} KB | - |",
        "",
        f"Budget: initial <= {size.max_initial_gzip_bytes / KB:g} KB gzipped: {'PASS' if size.passed else 'FAIL'}",
        "",
        "| ms from navigation to ready, median (p90) | cold | x baseline | warm | x baseline |",
        "|---|--:|--:|--:|--:|",
    ]
    labels = {
        "baseline": "static empty page (baseline)",
        "signin": "sign-in form",
        "analytics": "90-day analytics page, rendered",
    }
    for page in PAGES:
        cells = []
        for load_kind in LOADS:
            s = summary[f"{page} {load_kind}"]
            cells.append(f"{s['ready']['median']:.1f} ({s['ready']['p90']:.1f}) | {s['vs_baseline']:.1f}x")
        lines.append(f"| {labels[page]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "| where the time goes, ms since navigation start, median | "
        + " | ".join(f"{page} {k}" for page in ("signin", "analytics") for k in LOADS)
        + " |",
        "|---|--:|--:|--:|--:|",
    ]
    for name, label in STEPS:
        cells = []
        for page in ("signin", "analytics"):
            for load_kind in LOADS:
                found = summary[f"{page} {load_kind}"]["steps"].get(name)
                cells.append("-" if found is None else f"{found['median']:.1f}")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| ready | "
        + " | ".join(
            f"{summary[f'{p} {k}']['ready']['median']:.1f}" for p in ("signin", "analytics") for k in LOADS
        )
        + " |"
    )
    api = [summary[f"analytics {k}"]["api"] for k in LOADS]
    if all(api):
        lines.append("")
        lines.append(
            "Of which the 90-day analytics API answer (browser resource timing), median: "
            + ", ".join(f"{k} {a['median']:.1f} ms" for k, a in zip(LOADS, api, strict=True))
        )
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = bench_parser(__doc__, check="exit 1 if the initial JS is over 150 KB gzipped")
    parser.add_argument("--rows", type=positive_int, default=500_000, help="chat logs (default 500,000)")
    parser.add_argument("--runs", type=positive_int, default=10, help="rounds (default 10)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    progress = not args.json
    if not (ADMIN_DIST / "index.html").exists():
        raise SystemExit("admin/dist is missing: run `make admin`")
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(bench_database(DATABASE_NAME)).url
        if progress:
            print(f"generating {args.rows:,} chat logs ...", file=sys.stderr)
        widget_id = asyncio.run(prepare_data(database_url, args.rows, progress))
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        process = start_in_background(
            database_url=database_url, port=port, log_path=BENCH_DIR / "spa-dev-runner.log"
        )
        stack.callback(stop_process, process)
        wait_until_serving(base_url)
        static = stack.enter_context(
            serve_static(
                StaticSite(files={"/empty.html": ("text/html; charset=utf-8", BASELINE_HTML, False)})
            )
        )
        urls = {
            "baseline": f"{static.base_url}/empty.html",
            "signin": f"{base_url}/admin/signin",
            "analytics": f"{base_url}/admin/analytics/widgets/{widget_id}?days=90&tz=UTC",
        }
        chromium, samples = measure(urls, stored_session(base_url), args.runs, progress)
    size = measure_size(samples)
    summary = summarise(samples)
    failed = (
        [] if size.passed else [f"initial JS {size.initial_gzip_bytes:,} B > {MAX_INITIAL_GZIP_BYTES:,} B"]
    )
    if args.json:
        payload = {
            "rows": args.rows,
            "runs": args.runs,
            "chromium": chromium,
            "machine": f"{os.cpu_count()} CPUs",
            "size": {**asdict(size), "passed": size.passed},
            "timings": summary,
            "failed": failed,
        }
        print(json.dumps(payload, indent=2))
    else:
        print(report(size, summary, chromium, args.rows, args.runs))
        print(verdict(failed))
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
