"""Authentication of admins and client viewers: passwords (stdlib scrypt, no native dependency to
build for Lambda), login tokens (HS256 JWTs with the user's token version), slowing down guessing."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import math
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from shared import tokens
from shared.db import Database
from shared.errors import RateLimitedError, UnauthorizedError, UnprocessableError
from shared.models import User
from shared.repositories import rate_limits, users

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """A salted scrypt hash, self-describing: `scrypt$n$r$p$salt$hash`."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches a hash from `hash_password` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


# Login: tokens, users, and slowing down guessing.

LOGIN_AUDIENCE = "platform-login"
TOKEN_LIFETIME = timedelta(hours=1)
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # scrypt's cost grows with the input; nobody types more
FAILURE_WINDOW_SECONDS = 15 * 60
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20
# Failures past this many (per email or address) are answered after a growing delay.
SLOW_AFTER_FAILURES = 2
MAX_DELAY_SECONDS = 3.0
_BAD_CREDENTIALS = "The email or password is not correct."


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    user: User


def issue_token(key: bytes, user: User, *, now: datetime) -> tuple[str, datetime]:
    """A login token for `user`, valid for an hour."""
    expires_at = (now + TOKEN_LIFETIME).replace(microsecond=0)
    claims = {
        "aud": LOGIN_AUDIENCE,
        "sub": str(user.id),
        "role": user.role,
        "client_id": str(user.client_id) if user.client_id else None,
        "ver": user.token_version,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
    }
    return tokens.sign(claims, key), expires_at


async def login(db: Database, *, email: str, password: str, ip: str, key: bytes, now: datetime) -> Login:
    """A token for the user with this email and password.

    A wrong email and a wrong password answer the same 401 after the same work (scrypt runs
    either way). Failures are counted per email and per address: past a few the answer is slowed,
    past the limit it is 429 with Retry-After, whatever the password.
    """
    keys = {
        f"login:email:{email.strip().lower()}": MAX_FAILURES_PER_EMAIL,
        f"login:ip:{ip}": MAX_FAILURES_PER_ADDRESS,
    }
    counts = await db.run(rate_limits.peek, keys=list(keys), window_seconds=FAILURE_WINDOW_SECONDS)
    over = [remaining for key, (count, remaining) in counts.items() if count >= keys[key]]
    if over:
        raise RateLimitedError(
            "Too many failed sign-in attempts. Please wait before trying again.",
            retry_after=max(1, math.ceil(max(over))),
        )
    user = await db.run(users.get_user_by_email, email=email)
    stored = user.password_hash.get_secret_value() if user else _dummy_hash()
    matches = await asyncio.to_thread(verify_password, password, stored)
    if user is None or not matches:
        failures = await db.run(rate_limits.hit, keys=list(keys), window_seconds=FAILURE_WINDOW_SECONDS)
        worst = max(count for count, _ in failures.values())
        if worst > SLOW_AFTER_FAILURES:
            await asyncio.sleep(min(MAX_DELAY_SECONDS, 0.5 * (worst - SLOW_AFTER_FAILURES)))
        raise UnauthorizedError(_BAD_CREDENTIALS, code="invalid_credentials")
    await db.run(users.record_login, user_id=user.id)
    token, expires_at = issue_token(key, user, now=now)
    return Login(token, expires_at, User.model_validate(user.model_dump()))


async def authenticate(db: Database, *, token: str, key: bytes, now: datetime) -> User:
    """The user a login token stands for, as it is now; 401 if the token is invalid or expired, or
    its user was deleted or changed its password (or role) since."""
    try:
        claims = tokens.verify(token, key, audience=LOGIN_AUDIENCE, now=now.timestamp())
        user_id = UUID(str(claims["sub"]))
        version = claims["ver"]
        if not isinstance(version, int) or isinstance(version, bool):
            raise ValueError("token version")
    except tokens.ExpiredTokenError:
        raise _unauthorized("Your session has expired. Please sign in again.", "token_expired") from None
    except (tokens.InvalidTokenError, KeyError, ValueError):
        raise _unauthorized("The access token is not valid. Please sign in again.", "invalid_token") from None
    # Read on every request, never cached: a deleted user's or an ended session's token is refused
    # at once, in every process.
    user = await db.run(users.get_signed_in_user, user_id=user_id, token_version=version)
    if user is None:
        raise _unauthorized("This session has ended. Please sign in again.", "session_revoked")
    return user


async def change_password(db: Database, *, user_id: UUID, current: str, new: str) -> None:
    """Change a user's own password; every token issued before ends (the caller gets a new one)."""
    user = await db.run(users.get_user, user_id=user_id)
    if user is None:
        raise _unauthorized("This session has ended. Please sign in again.", "session_revoked")
    if not await asyncio.to_thread(verify_password, current, user.password_hash.get_secret_value()):
        raise UnauthorizedError("The current password is not correct.", code="invalid_credentials")
    check_password_strength(new)
    await db.run(
        users.set_password, user_id=user_id, password_hash=await asyncio.to_thread(hash_password, new)
    )


async def authenticate_after_change(db: Database, *, user_id: UUID) -> User:
    """The user as stored now (after a change that ended its earlier tokens)."""
    user = await db.run(users.get_user, user_id=user_id)
    if user is None:
        raise _unauthorized("This session has ended. Please sign in again.", "session_revoked")
    return User.model_validate(user.model_dump())


def check_password_strength(password: str) -> None:
    """At least 12 characters (and not absurdly long); 422 otherwise."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UnprocessableError(
            f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.", code="weak_password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise UnprocessableError(
            f"Passwords are limited to {MAX_PASSWORD_LENGTH} characters.", code="weak_password"
        )


def generate_password() -> str:
    """A random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


def _unauthorized(message: str, code: str) -> UnauthorizedError:
    return UnauthorizedError(message, code=code, headers={"WWW-Authenticate": "Bearer"})


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, checked for unknown emails so they cost what a wrong password costs."""
    return hash_password(secrets.token_urlsafe(32))
