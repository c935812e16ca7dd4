"""The auth API's requests and responses (login, me, password)."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StringConstraints

from shared.models.base import Model
from shared.models.users import Role, User


class LoginRequest(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    email: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class UserOut(Model):
    """A user as the APIs show it (never its password hash)."""

    id: UUID
    email: str
    role: Role
    client_id: UUID | None
    last_login_at: datetime | None = None
    created_at: datetime | None = None

    @classmethod
    def of(cls, user: User) -> "UserOut":
        return cls(
            id=user.id,
            email=user.email,
            role=user.role,
            client_id=user.client_id,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
        )


class LoginResponse(Model):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  # the OAuth token type, no secret
    expires_at: datetime
    user: UserOut


class PasswordChangeRequest(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    new_password: Annotated[str, Field(min_length=12, max_length=1024)]
