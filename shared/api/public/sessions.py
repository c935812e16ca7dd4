"""POST /v1/widgets/{id}/sessions: start a visitor session, or renew one after a reload."""

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Response

from shared.api.public.deps import PublicWidgetDep, add_preflight, rate_limited
from shared.api.resources import ResourcesDep
from shared.errors import UnauthorizedError
from shared.models.sessions import SessionRequest, SessionResponse
from shared.services import sessions

router = APIRouter(tags=["widget"])
PATH = "/v1/widgets/{widget_id}/sessions"


@router.post(
    PATH,
    status_code=201,
    response_model=SessionResponse,
    responses={200: {"description": "Renewed"}},
    dependencies=[rate_limited("session")],
)
async def start_session(
    widget: PublicWidgetDep,
    resources: ResourcesDep,
    response: Response,
    body: Annotated[SessionRequest, Body(default_factory=SessionRequest)],
) -> SessionResponse:
    """A session token valid for 24 h. Posting a session's id with its token (even expired, up to
    7 days) renews the same session, so the conversation survives reloads. Starts and renewals
    count against the widget's `per_ip_sessions_per_minute`."""
    now = datetime.now(UTC)
    key = resources.settings.signing_key_bytes
    if body.token is not None:
        existing = sessions.verify_token(
            key, body.token, widget_id=widget.id, now=now, grace=sessions.RENEWAL_GRACE
        )
        if body.session_id is not None and body.session_id != existing.session_id:
            raise UnauthorizedError("The token does not belong to that session.", code="invalid_token")
        session_id = existing.session_id
        response.status_code = 200
    elif body.session_id is not None:
        raise UnauthorizedError("Renewing a session needs its token.", code="missing_token")
    else:
        session_id = sessions.new_session_id()
    token, expires_at = sessions.issue_token(key, widget_id=widget.id, session_id=session_id, now=now)
    return SessionResponse(session_id=session_id, token=token, expires_at=expires_at)


add_preflight(router, PATH, "POST")
