"""The admin API's users: creating admins and client viewers, changing them."""

from typing import Annotated, Self
from uuid import UUID

from pydantic import ConfigDict, StringConstraints, field_validator, model_validator

from shared.models.auth import UserOut
from shared.models.base import Email, Model
from shared.models.users import Role

# The strength rule (12 characters at least) is checked by the auth service, which gives it its own
# error code; the bound here only keeps absurd bodies out.
Password = Annotated[str, StringConstraints(max_length=1024)]


class UserCreate(Model):
    """A new admin (no client) or client viewer (of one client). Without a password one is
    generated and answered once."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    email: Email
    role: Role
    client_id: UUID | None = None
    password: Password | None = None

    @model_validator(mode="after")
    def _client_matches_role(self) -> Self:
        if self.role == "client" and self.client_id is None:
            raise ValueError("a client viewer needs a client_id")
        if self.role == "admin" and self.client_id is not None:
            raise ValueError("an admin belongs to no client: leave client_id out")
        return self


class UserUpdate(Model):
    """A change to a user: only the fields given change. A new password, role or client ends the
    user's sessions. Making a client viewer an admin drops its client; making an admin a client
    viewer needs a `client_id`."""

    model_config = ConfigDict(extra="forbid", defer_build=True)

    email: Email | None = None
    role: Role | None = None
    client_id: UUID | None = None
    password: Password | None = None

    @field_validator("email", "role", "password")
    @classmethod
    def _not_cleared(cls, value: str | None) -> str | None:
        if value is None:
            raise ValueError("cannot be cleared; leave it out to keep it")
        return value


class UserCreated(UserOut):
    """The new user; `password` is the generated password, shown this once (null when the admin
    chose it)."""

    password: str | None = None
