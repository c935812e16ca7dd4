"""Session tokens: stateless, signed, bound to one widget, expiring."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from shared.errors import UnauthorizedError
from shared.services.sessions import RENEWAL_GRACE, SESSION_LIFETIME, issue_token, verify_token

KEY = b"k" * 48
WIDGET = uuid.uuid4()
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_a_token_grants_its_session_until_it_expires() -> None:
    token, expires_at = issue_token(KEY, widget_id=WIDGET, session_id="abc", now=NOW)
    session = verify_token(KEY, token, widget_id=WIDGET, now=NOW + SESSION_LIFETIME - timedelta(seconds=1))
    assert (session.session_id, session.expires_at) == ("abc", expires_at)
    with pytest.raises(UnauthorizedError, match="expired"):
        verify_token(KEY, token, widget_id=WIDGET, now=expires_at)
    assert verify_token(KEY, token, widget_id=WIDGET, now=expires_at, grace=RENEWAL_GRACE).session_id == "abc"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t + "x",
        lambda t: "eyJhbGciOiJub25lIn0" + t[t.index(".") :],  # another header: {"alg": "none"}
        lambda t: ".".join([t.split(".")[0], t.split(".")[1][::-1], t.split(".")[2]]),
        lambda t: "",
        lambda t: "a.b",
        lambda t: "v1.!!!.???",
    ],
)
def test_altered_tokens_are_refused(mutate: object) -> None:
    token, _ = issue_token(KEY, widget_id=WIDGET, session_id="abc", now=NOW)
    assert callable(mutate)
    with pytest.raises(UnauthorizedError):
        verify_token(KEY, mutate(token), widget_id=WIDGET, now=NOW)


def test_tokens_are_bound_to_the_widget_and_the_key() -> None:
    token, _ = issue_token(KEY, widget_id=WIDGET, session_id="abc", now=NOW)
    with pytest.raises(UnauthorizedError, match="another widget"):
        verify_token(KEY, token, widget_id=uuid.uuid4(), now=NOW)
    with pytest.raises(UnauthorizedError):
        verify_token(b"z" * 48, token, widget_id=WIDGET, now=NOW)
