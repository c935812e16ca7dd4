"""Users: admins and client viewers of the dashboards."""

from __future__ import annotations

from uuid import UUID

from shared.db import Conn
from shared.models import Role, User, UserWithPassword

_COLUMNS = "id, email, role, client_id, last_login_at, created_at"


async def create_user(
    conn: Conn, *, email: str, password_hash: str, role: Role, client_id: UUID | None = None
) -> User:
    """Insert a user (emails are unique regardless of case)."""
    cur = await conn.execute(
        "INSERT INTO users (email, password_hash, role, client_id) "
        f"VALUES (%(email)s, %(password_hash)s, %(role)s, %(client_id)s) RETURNING {_COLUMNS}",
        {
            "email": email.strip().lower(),
            "password_hash": password_hash,
            "role": role,
            "client_id": client_id,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return User.model_validate(row)


async def get_user_by_email(conn: Conn, *, email: str) -> UserWithPassword | None:
    """A user with its password hash, for logging in; None if no such email."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS}, password_hash FROM users WHERE lower(email) = lower(%(email)s)",
        {"email": email.strip()},
    )
    row = await cur.fetchone()
    return UserWithPassword.model_validate(row) if row else None
