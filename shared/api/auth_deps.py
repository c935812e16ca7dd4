"""Who is calling the operator-side APIs: the login token's user, and the role a route needs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request

from shared.api.resources import resources_of
from shared.errors import ForbiddenError, UnauthorizedError
from shared.models import User
from shared.services import auth


async def _user(request: Request) -> User:
    """The signed-in user (401 without a valid, current login token)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError(
            "Sign in first (Authorization: Bearer <access_token> from POST /v1/auth/login).",
            code="missing_token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    resources = resources_of(request)
    return await auth.authenticate(
        resources.db, token=token.strip(), key=resources.settings.signing_key_bytes, now=datetime.now(UTC)
    )


UserDep = Annotated[User, Depends(_user)]


async def _admin(request: Request) -> User:
    """The signed-in user, who must be an admin (403 for a client viewer). It reads the token
    itself rather than through `UserDep`: a sub-dependency is one more for FastAPI to solve on
    every admin request."""
    user = await _user(request)
    if user.role != "admin":
        raise ForbiddenError("This needs an admin account.", code="admin_only")
    return user


AdminDep = Annotated[User, Depends(_admin)]
