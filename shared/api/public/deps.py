"""FastAPI dependencies of the public routes: the widget check (origin, CORS), the visitor session,
per-address rate limits, CORS preflight."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response, params

from shared.api.resources import resources_of
from shared.errors import ForbiddenError, NotFoundError, UnauthorizedError
from shared.http import allow_cors, client_ip, refuse_cors
from shared.models import Widget
from shared.services import rate_limits, sessions

# The public dependencies read the resources from the app (`resources_of`) instead of depending on
# `ResourcesDep`: FastAPI re-solves every sub-dependency on each use, and the message route's 13
# dependency solves cost ~0.2 ms per message (docs/benchmarks.md). They are `async def` even when
# they do not await: FastAPI runs plain `def` dependencies in its thread pool (~0.15 ms a hop).


async def _public_widget(request: Request, widget_id: UUID) -> Widget:
    """The widget a public route is about: it must exist, be active, not be expired, and allow the
    page's Origin (its `allowed_origins`, empty meaning any; the platform's own pages always)."""
    origin = request.headers.get("origin")
    resources = resources_of(request)
    try:
        widget = await resources.widgets.get(resources.db, widget_id)
    except Exception:
        refuse_cors(request)  # its allowed origins are unknown; asking again would only wait again
        raise
    if widget is None or not widget.is_available(datetime.now(UTC)):
        allow_cors(request, origin)  # a 404 reveals nothing, and lets the widget say so
        raise NotFoundError(
            "This chat widget does not exist or is no longer available.", code="widget_not_found"
        )
    if origin and not widget.allows_origin(origin, platform_origin=resources.settings.public_origin):
        refuse_cors(request)
        raise ForbiddenError(
            "This website is not allowed to use this chat widget.", code="origin_not_allowed"
        )
    allow_cors(request, origin)
    return widget


PublicWidgetDep = Annotated[Widget, Depends(_public_widget)]


async def _session(request: Request, widget: PublicWidgetDep) -> sessions.Session:
    """The visitor session the Bearer token grants for this widget (401 otherwise)."""
    return _verified_session(request, widget)


def _verified_session(request: Request, widget: Widget) -> sessions.Session:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "A session token is required (Authorization: Bearer <token> from POST /sessions).",
            code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return sessions.verify_token(
        resources_of(request).settings.signing_key_bytes,
        token.strip(),
        widget_id=widget.id,
        now=datetime.now(UTC),
    )


SessionDep = Annotated[sessions.Session, Depends(_session)]


@dataclass(frozen=True, slots=True)
class Visitor:
    """The widget a public route is about and the visitor session the request carries for it."""

    widget: Widget
    session: sessions.Session


async def _visitor(request: Request, widget_id: UUID) -> Visitor:
    """`PublicWidgetDep` then `SessionDep`, in that order, as one dependency: each dependency FastAPI
    solves costs about as much as the check itself, and a message is the hottest route."""
    widget = await _public_widget(request, widget_id)
    return Visitor(widget, _verified_session(request, widget))


VisitorDep = Annotated[Visitor, Depends(_visitor)]


def rate_limited(kind: rate_limits.Kind) -> params.Depends:
    """A route dependency counting each request against the widget's per-address limit for `kind`
    (429 with Retry-After when over). As a route's `dependencies=[...]` it runs before the session
    token and the body are checked, so requests refused for those count too."""

    async def count(request: Request, widget: PublicWidgetDep) -> None:
        resources = resources_of(request)
        ip = client_ip(request, resources.settings.client_ip_header)
        await rate_limits.enforce(resources.db, widget=widget, kind=kind, ip=ip)

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
