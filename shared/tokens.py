"""HS256 compact JWTs (RFC 7519 / 7515) and unpadded base64url: the one place tokens are made and
checked. Used by visitor session tokens, the relay's webhook JWT (what n8n's JWT Auth verifies) and
login tokens.

Signing and verifying HS256 is a few lines of HMAC; PyJWT cost ~0.05 ms per message on the relay's
path, mostly re-checking on every call that an HMAC key is no PEM or DER public key
(docs/benchmarks.md). Tests verify these tokens with PyJWT.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_HEADER = '{"alg":"HS256","typ":"JWT"}'


class InvalidTokenError(ValueError):
    """Malformed, wrongly signed, for another audience, or expired; the message says which."""


class ExpiredTokenError(InvalidTokenError):
    """Well-formed and correctly signed, but past its `exp`."""


def b64url(raw: bytes) -> str:
    """Unpadded base64url, as JWS uses it."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """The bytes of unpadded base64url text; `InvalidTokenError` if it is not that."""
    try:
        if not text.isascii():
            raise ValueError("not ASCII")
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        raise InvalidTokenError("malformed token") from None


_ENCODED_HEADER = b64url(_HEADER.encode())


def sign(claims: dict[str, Any], key: bytes) -> str:
    """A compact JWS of `claims`, signed with HMAC-SHA256."""
    payload = b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    signing_input = f"{_ENCODED_HEADER}.{payload}"
    return f"{signing_input}.{_signature(key, signing_input)}"


def verify(
    token: str, key: bytes, *, audience: str | None = None, now: float, leeway: float = 0
) -> dict[str, Any]:
    """The claims of a token signed with `key` (HS256 only; `alg: none` and every other algorithm
    are refused), whose `aud` is `audience` when given, and whose `exp` (required) is later than
    `now - leeway`."""
    claims = dict(_signed_claims(token, key))
    if audience is not None and claims.get("aud") != audience:
        raise InvalidTokenError("token for another audience")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise InvalidTokenError("token without expiry")
    if exp <= now - leeway:
        raise ExpiredTokenError("token expired")
    return claims


# A visitor sends the same session token with every message: checking its signature once per
# process (decoding, two JSON parses, an HMAC) and then finding it here costs a fraction of that.
# Only correctly signed tokens are kept, by token and key; audience and expiry are checked on
# every call.
@functools.lru_cache(maxsize=4096)
def _signed_claims(token: str, key: bytes) -> Mapping[str, Any]:
    """The claims of a well-formed HS256 token whose signature `key` verifies (read-only)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise InvalidTokenError("malformed token")
    header_text, payload_text, signature = parts
    try:
        header = json.loads(b64url_decode(header_text))
        claims = json.loads(b64url_decode(payload_text))
    except (ValueError, RecursionError):
        raise InvalidTokenError("malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256" or not isinstance(claims, dict):
        raise InvalidTokenError("malformed token")
    if not hmac.compare_digest(signature.encode(), _signature(key, f"{header_text}.{payload_text}").encode()):
        raise InvalidTokenError("bad signature")
    return MappingProxyType(claims)


def _signature(key: bytes, signing_input: str) -> str:
    return b64url(hmac.new(key, signing_input.encode(), hashlib.sha256).digest())
