"""Users: admins and client viewers."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import SecretStr

from shared.models.base import Model

Role = Literal["admin", "client"]


class User(Model):
    id: UUID
    email: str
    role: Role
    client_id: UUID | None
    last_login_at: datetime | None
    created_at: datetime
    token_version: int = 0  # in every login token; bumped to end them all


class UserWithPassword(User):
    password_hash: SecretStr
