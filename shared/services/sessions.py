"""Visitor session tokens: stateless, HMAC-signed over widget id, session id and expiry."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from shared.errors import UnauthorizedError

SESSION_LIFETIME = timedelta(hours=24)
# A returning visitor may renew a token that expired this long ago, so a conversation survives a
# weekend; older tokens start a new conversation.
RENEWAL_GRACE = timedelta(days=7)
_VERSION = "v1"


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
    payload = b64url(json.dumps([str(widget_id), session_id, int(expires_at.timestamp())]).encode())
    return f"{_VERSION}.{payload}.{_sign(key, payload)}", expires_at


def verify_token(
    key: bytes, token: str, *, widget_id: UUID, now: datetime, grace: timedelta = timedelta(0)
) -> Session:
    """The session a token grants for this widget; 401 if it is malformed, tampered with, for
    another widget, or expired (more than `grace` ago)."""
    try:
        version, payload, signature = token.split(".")
        if version != _VERSION or not hmac.compare_digest(signature, _sign(key, payload)):
            raise ValueError("bad signature")
        token_widget, session_id, expires = json.loads(_unb64(payload))
        expires_at = datetime.fromtimestamp(int(expires), UTC)
    except (ValueError, TypeError):
        raise UnauthorizedError(
            "The session token is invalid. Start a new session.", code="invalid_token"
        ) from None
    if token_widget != str(widget_id):
        raise UnauthorizedError("The session token belongs to another widget.", code="invalid_token")
    if expires_at + grace <= now:
        raise UnauthorizedError("The session has expired. Start a new session.", code="token_expired")
    return Session(widget_id=widget_id, session_id=str(session_id), expires_at=expires_at)


def _sign(key: bytes, payload: str) -> str:
    return b64url(hmac.new(key, f"session.{payload}".encode(), hashlib.sha256).digest())


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as JWS and these tokens use it."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
