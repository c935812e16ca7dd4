"""Visitor session tokens: stateless HS256 JWTs (`shared.tokens`) over widget id, session id and
expiry, signed with the server key."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from shared import tokens
from shared.errors import UnauthorizedError

SESSION_LIFETIME = timedelta(hours=24)
# A returning visitor may renew a token that expired this long ago, so a conversation survives a
# weekend; older tokens start a new conversation.
RENEWAL_GRACE = timedelta(days=7)
# Signed with the server key like login tokens: the audience keeps one from passing for the other.
AUDIENCE = "widget-session"


@dataclass(frozen=True)
class Session:
    widget_id: UUID
    session_id: str
    expires_at: datetime


def new_session_id() -> str:
    return uuid.uuid4().hex


def issue_token(key: bytes, *, widget_id: UUID, session_id: str, now: datetime) -> tuple[str, datetime]:
    """A token for the session, valid for 24 hours from `now`; returns it with its expiry."""
    expires_at = (now + SESSION_LIFETIME).replace(microsecond=0)
    claims = {"aud": AUDIENCE, "wid": str(widget_id), "sid": session_id, "exp": int(expires_at.timestamp())}
    return tokens.sign(claims, key), expires_at


def verify_token(
    key: bytes, token: str, *, widget_id: UUID, now: datetime, grace: timedelta = timedelta(0)
) -> Session:
    """The session a token grants for this widget; 401 if it is malformed, tampered with, for
    another widget, or expired (more than `grace` ago)."""
    try:
        claims = tokens.verify(
            token, key, audience=AUDIENCE, now=now.timestamp(), leeway=grace.total_seconds()
        )
        session_id, token_widget = claims["sid"], claims["wid"]
        if not isinstance(session_id, str) or not isinstance(token_widget, str):
            raise tokens.InvalidTokenError("malformed claims")
    except tokens.ExpiredTokenError:
        raise UnauthorizedError(
            "The session has expired. Start a new session.", code="token_expired"
        ) from None
    except (tokens.InvalidTokenError, KeyError):
        raise UnauthorizedError(
            "The session token is invalid. Start a new session.", code="invalid_token"
        ) from None
    if token_widget != str(widget_id):
        raise UnauthorizedError("The session token belongs to another widget.", code="invalid_token")
    return Session(
        widget_id=widget_id, session_id=session_id, expires_at=datetime.fromtimestamp(claims["exp"], UTC)
    )
