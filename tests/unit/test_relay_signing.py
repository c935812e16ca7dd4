"""The relay's JWT is the standard HS256 compact form that n8n's JWT Auth (and PyJWT) verify."""

from __future__ import annotations

import jwt
import pytest

from shared.tokens import sign as hs256_jwt

KEY = "a-widget-secret-of-sufficient-length-0123456789"


def test_the_token_verifies_with_the_key_and_carries_the_claims() -> None:
    claims = {"sub": "w", "sid": "s", "jti": "m", "iat": 1_700_000_000, "exp": 1_700_000_060, "n": "é"}
    token = hs256_jwt(claims, KEY.encode())
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    decoded = jwt.decode(token, KEY, algorithms=["HS256"], options={"verify_exp": False})
    assert decoded == claims
    assert "=" not in token and token.count(".") == 2


def test_another_key_or_a_changed_payload_does_not_verify() -> None:
    token = hs256_jwt({"sub": "w", "exp": 4_000_000_000}, KEY.encode())
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, KEY + "x", algorithms=["HS256"])
    header, _, signature = token.split(".")
    forged = ".".join(
        [header, hs256_jwt({"sub": "other", "exp": 4_000_000_000}, KEY.encode()).split(".")[1], signature]
    )
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, KEY, algorithms=["HS256"])
