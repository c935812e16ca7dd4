"""HS256 compact JWTs: what PyJWT (and n8n's JWT Auth) accept, and nothing else verifies."""

from __future__ import annotations

import json

import jwt
import pytest

from shared import tokens

KEY = b"a-server-key-of-sufficient-length-0123456789"
NOW = 1_800_000_000


def test_tokens_are_standard_jwts() -> None:
    token = tokens.sign({"sub": "u", "aud": "login", "exp": NOW + 60, "name": "é"}, KEY)
    assert (
        jwt.decode(token, KEY, algorithms=["HS256"], audience="login", options={"verify_exp": False})["name"]
        == "é"
    )
    pyjwt_token = jwt.encode({"sub": "u", "aud": "login", "exp": NOW + 60}, KEY, algorithm="HS256")
    assert tokens.verify(pyjwt_token, KEY, audience="login", now=NOW)["sub"] == "u"


def test_expiry_is_required_and_enforced_with_leeway() -> None:
    token = tokens.sign({"exp": NOW}, KEY)
    with pytest.raises(tokens.ExpiredTokenError):
        tokens.verify(token, KEY, now=NOW)
    assert tokens.verify(token, KEY, now=NOW, leeway=1)["exp"] == NOW
    with pytest.raises(tokens.InvalidTokenError, match="expiry"):
        tokens.verify(tokens.sign({"sub": "u"}, KEY), KEY, now=NOW)


def _forge(header: dict[str, str], claims: dict[str, object], signature: str = "") -> str:
    encode = tokens.b64url
    return f"{encode(json.dumps(header).encode())}.{encode(json.dumps(claims).encode())}.{signature}"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.???.***",
        "é.é.é",
        _forge({"alg": "none"}, {"exp": NOW + 60}),
        _forge({"alg": "HS512"}, {"exp": NOW + 60}, "x"),
        jwt.encode({"exp": NOW + 60}, KEY + b"other", algorithm="HS256"),
        tokens.sign({"exp": NOW + 60}, KEY)[:-2],
        tokens.sign({"exp": NOW + 60}, KEY).replace(".", "..", 1),
        _forge({"alg": "HS256"}, ["not", "an", "object"]),  # type: ignore[arg-type]
    ],
)
def test_anything_but_a_correctly_signed_hs256_token_is_refused(token: str) -> None:
    with pytest.raises(tokens.InvalidTokenError):
        tokens.verify(token, KEY, now=NOW)


def test_the_audience_keeps_one_kind_of_token_from_passing_for_another() -> None:
    session = tokens.sign({"aud": "widget-session", "exp": NOW + 60}, KEY)
    with pytest.raises(tokens.InvalidTokenError, match="audience"):
        tokens.verify(session, KEY, audience="login", now=NOW)


def test_a_token_verified_before_is_still_checked_for_key_audience_and_expiry() -> None:
    # Verified tokens are remembered per process (the session token of every message); what the
    # caller asks of a token must still be checked each time.
    token = tokens.sign({"aud": "widget-session", "exp": NOW + 60}, KEY)
    assert tokens.verify(token, KEY, audience="widget-session", now=NOW)["exp"] == NOW + 60
    with pytest.raises(tokens.InvalidTokenError, match="signature"):
        tokens.verify(token, KEY + b"-rotated", audience="widget-session", now=NOW)
    with pytest.raises(tokens.InvalidTokenError, match="audience"):
        tokens.verify(token, KEY, audience="login", now=NOW)
    with pytest.raises(tokens.ExpiredTokenError):
        tokens.verify(token, KEY, audience="widget-session", now=NOW + 60)
    claims = tokens.verify(token, KEY, audience="widget-session", now=NOW)
    claims["exp"] = NOW + 10_000  # the caller's copy: changing it changes nothing remembered
    with pytest.raises(tokens.ExpiredTokenError):
        tokens.verify(token, KEY, audience="widget-session", now=NOW + 60)
