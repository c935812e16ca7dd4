"""FastAPI dependencies shared by the routers: settings, database, the public widget check."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, params

from shared.db import Database
from shared.errors import ForbiddenError, NotFoundError, UnauthorizedError
from shared.http import allow_cors, client_ip, origin_allowed, refuse_cors
from shared.models import Widget
from shared.services import rate_limits, sessions
from shared.services.widget_cache import WidgetCache
from shared.settings import Settings


def app_settings(request: Request) -> Settings:
    """The app's settings (made once per process by `create_app`)."""
    settings: Settings = request.app.state.settings
    return settings


def app_db(request: Request) -> Database:
    """The app's database (made once per process by `create_app`)."""
    db: Database = request.app.state.db
    return db


# Dependencies are `async def` even when they do not await: FastAPI runs plain `def` dependencies
# in its thread pool, a hop that cost ~0.15 ms each per request (docs/benchmarks.md). The public
# dependencies below read settings and database from the app instead of depending on SettingsDep
# and DbDep: FastAPI re-solves every sub-dependency on each use, and the message route's 13
# dependency solves cost ~0.2 ms per message.
async def _settings(request: Request) -> Settings:
    return app_settings(request)


async def _database(request: Request) -> Database:
    return app_db(request)


SettingsDep = Annotated[Settings, Depends(_settings)]
DbDep = Annotated[Database, Depends(_database)]


async def _public_widget(request: Request, widget_id: UUID) -> Widget:
    """The widget a public route is about: it must exist, be active, not be expired, and allow the
    page's Origin (its `allowed_origins`, empty meaning any; the platform's own pages always)."""
    origin = request.headers.get("origin")
    cache: WidgetCache = request.app.state.widget_cache
    try:
        widget = await cache.get(app_db(request), widget_id)
    except Exception:
        refuse_cors(request)  # its allowed origins are unknown; asking again would only wait again
        raise
    if widget is None or not widget.is_available(datetime.now(UTC)):
        allow_cors(request, origin)  # a 404 reveals nothing, and lets the widget say so
        raise NotFoundError(
            "This chat widget does not exist or is no longer available.", code="widget_not_found"
        )
    if origin and not origin_allowed(widget, origin, public_origin=app_settings(request).public_origin):
        refuse_cors(request)
        raise ForbiddenError(
            "This website is not allowed to use this chat widget.", code="origin_not_allowed"
        )
    allow_cors(request, origin)
    return widget


PublicWidgetDep = Annotated[Widget, Depends(_public_widget)]


async def _session(request: Request, widget: PublicWidgetDep) -> sessions.Session:
    """The visitor session the Bearer token grants for this widget (401 otherwise)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "A session token is required (Authorization: Bearer <token> from POST /sessions).",
            code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return sessions.verify_token(
        app_settings(request).signing_key_bytes, token.strip(), widget_id=widget.id, now=datetime.now(UTC)
    )


SessionDep = Annotated[sessions.Session, Depends(_session)]


def rate_limited(kind: rate_limits.Kind) -> params.Depends:
    """A route dependency counting each request against the widget's per-address limit for `kind`
    (429 with Retry-After when over). As a route's `dependencies=[...]` it runs before the session
    token and the body are checked, so requests refused for those count too."""

    async def count(request: Request, widget: PublicWidgetDep) -> None:
        ip = client_ip(request, app_settings(request).client_ip_header)
        await rate_limits.enforce(app_db(request), widget=widget, kind=kind, ip=ip)

    dependency: params.Depends = Depends(count)
    return dependency


PREFLIGHT_MAX_AGE_SECONDS = 600


def add_preflight(router: APIRouter, path: str, methods: str) -> None:
    """Answer CORS preflight for a public path: 204 for an allowed origin, 403/404 otherwise."""

    async def preflight(_: PublicWidgetDep) -> Response:
        return Response(
            status_code=204,
            headers={
                "Access-Control-Allow-Methods": methods,
                "Access-Control-Allow-Headers": "Authorization, Content-Type, If-None-Match",
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_SECONDS),
            },
        )

    router.add_api_route(path, preflight, methods=["OPTIONS"], include_in_schema=False)
