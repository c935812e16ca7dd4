"""Builds a function's app: its routers on the platform's HTTP wiring (`shared.http`), with one
`Resources` object and the widget-aware CORS rule for errors no route decided on."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from fastapi import APIRouter, FastAPI

from shared.api.resources import Resources
from shared.http import create_app
from shared.observability import logger
from shared.settings import Settings, get_settings


def build_app(
    *,
    title: str,
    routers: Sequence[APIRouter] = (),
    settings: Settings | None = None,
    relay: bool = False,
    relay_on_first_use: bool = False,
) -> FastAPI:
    """The app of one function (`relay`: it calls webhooks; `relay_on_first_use`: some of its
    routes do, and the webhook caller is made when one first does)."""
    settings = settings or get_settings()
    resources = Resources.create(settings, relay=relay, relay_on_first_use=relay_on_first_use)

    async def widget_allows(widget_id: str, origin: str) -> bool:
        """Whether a page at `origin` may read an error about widget `widget_id` (see CorsMiddleware)."""
        try:
            key = UUID(widget_id)
        except ValueError:
            return True  # no such widget: an error about it reveals nothing
        try:
            widget = await resources.widgets.get(resources.db, key)
        except Exception:
            # Without the widget its allowed origins are unknown: no CORS rather than a guess.
            logger.warning("widget unavailable for CORS", exc_info=True, extra={"widget_id": widget_id})
            return False
        if widget is None or not widget.is_available(datetime.now(UTC)):
            return True
        return widget.allows_origin(origin, platform_origin=settings.public_origin)

    app = create_app(title=title, routers=routers, settings=settings, widget_cors=widget_allows)
    app.state.resources = resources
    return app
