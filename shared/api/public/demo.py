"""GET /v1/widgets/{id}/demo: the public page of a demo widget, with the widget embedded.

An unknown, expired or non-demo widget gets a friendly HTML 404, never JSON: people open this URL
in a browser.
"""

from datetime import UTC, datetime
from html import escape
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from shared.api.resources import ResourcesDep
from shared.models import Widget

router = APIRouter(tags=["widget"])
PATH = "/v1/widgets/{widget_id}/demo"
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' https: data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_STYLE = """
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;background:#f9fafb}
.banner{background:#fef3c7;color:#78350f;padding:10px 16px;text-align:center;font-size:14px}
main{max-width:640px;margin:64px auto;padding:0 20px;line-height:1.6}
h1{font-size:28px;margin:0 0 12px}
"""


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def demo_html(widget: Widget) -> str:
    """The demo page: a banner with the expiry, a short explanation and the one-tag embed."""
    title = escape(widget.config.title or widget.name)
    expiry = ""
    if widget.expires_at is not None:
        when = widget.expires_at.astimezone(UTC)
        expiry = (
            f' It is available until <time datetime="{when.isoformat()}">'
            f"{when.strftime('%d %B %Y, %H:%M')} UTC</time>."
        )
    body = (
        f'<div class="banner" role="note">This is a demo of the <strong>{title}</strong> chat widget.{expiry}</div>'
        f"<main><h1>{title}</h1><p>This page shows the chat widget as your visitors will see it. "
        "Open it with the chat button in the corner and ask it something.</p></main>"
        f'<script src="/widget.js" data-widget-id="{widget.id}" defer></script>'
    )
    return _page(f"{widget.config.title or widget.name} (demo)", body)


NOT_FOUND_HTML = _page(
    "Demo not found",
    "<main><h1>This demo is not available</h1><p>The link may be mistyped, or the demo has expired. "
    "Ask whoever shared it with you for a new link.</p></main>",
)


@router.get(
    PATH, response_class=HTMLResponse, responses={404: {"description": "Unknown or expired demo (HTML)"}}
)
async def demo_page(widget_id: str, resources: ResourcesDep) -> HTMLResponse:
    """The demo widget's public page, or a friendly 404 page."""
    widget = None
    try:
        parsed = UUID(widget_id)
    except ValueError:
        parsed = None
    if parsed is not None:
        widget = await resources.widgets.get(resources.db, parsed)
    if widget is None or not widget.is_demo or not widget.is_available(datetime.now(UTC)):
        return HTMLResponse(NOT_FOUND_HTML, status_code=404, headers=HEADERS)
    return HTMLResponse(demo_html(widget), headers=HEADERS)
