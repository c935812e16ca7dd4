"""The built widget stays tiny: at most 15 KB gzipped (n8n's chat widget is ~546 KB)."""

from __future__ import annotations

import gzip
from pathlib import Path

WIDGET_JS = Path(__file__).resolve().parents[2] / "widget" / "dist" / "widget.js"
MAX_GZIPPED_BYTES = 15 * 1024


def test_widget_bundle_is_at_most_15_kb_gzipped() -> None:
    assert WIDGET_JS.exists(), "widget/dist/widget.js is missing: run `make widget` (make test does)"
    bundle = WIDGET_JS.read_bytes()
    size = len(gzip.compress(bundle, compresslevel=9))
    assert size <= MAX_GZIPPED_BYTES, f"widget.js is {size} bytes gzipped (limit {MAX_GZIPPED_BYTES})"


def test_widget_bundle_has_no_html_injection_sinks() -> None:
    # Safe rendering is by construction: nothing may parse strings as HTML.
    bundle = WIDGET_JS.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in bundle, sink
