"""Users: admins and client viewers of the dashboards."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Conn
from shared.models import Role, User, UserWithPassword
from shared.repositories.sql import escape_like

_COLUMNS = "id, email, role, client_id, last_login_at, created_at, token_version"


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


async def get_user(conn: Conn, *, user_id: UUID) -> UserWithPassword | None:
    """A user by id with its password hash; None if there is none."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS}, password_hash FROM users WHERE id = %(id)s", {"id": user_id}
    )
    row = await cur.fetchone()
    return UserWithPassword.model_validate(row) if row else None


async def get_signed_in_user(conn: Conn, *, user_id: UUID, token_version: int) -> User | None:
    """The user a login token names, while its token version is still `token_version`; None once
    it was deleted or its tokens were ended. No password hash: one primary-key read per request."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM users WHERE id = %(id)s AND token_version = %(version)s",
        {"id": user_id, "version": token_version},
    )
    row = await cur.fetchone()
    return User.model_validate(row) if row else None


async def list_users(
    conn: Conn, *, search: str | None, role: Role | None, client_id: UUID | None, limit: int, offset: int
) -> tuple[list[User], int]:
    """A page of users by email, with the total matching."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM users "
        "WHERE (%(pattern)s::text IS NULL OR email ILIKE %(pattern)s) "
        "  AND (%(role)s::text IS NULL OR role = %(role)s) "
        "  AND (%(client_id)s::uuid IS NULL OR client_id = %(client_id)s) "
        "ORDER BY lower(email), id LIMIT %(limit)s OFFSET %(offset)s",
        {
            "pattern": f"%{escape_like(search)}%" if search else None,
            "role": role,
            "client_id": client_id,
            "limit": limit,
            "offset": offset,
        },
    )
    rows = await cur.fetchall()
    total = int(rows[0]["total"]) if rows else await _count(conn, search, role, client_id)
    return [User.model_validate(row) for row in rows], total


async def _count(conn: Conn, search: str | None, role: Role | None, client_id: UUID | None) -> int:
    cur = await conn.execute(
        "SELECT count(*) AS n FROM users WHERE (%(pattern)s::text IS NULL OR email ILIKE %(pattern)s) "
        "  AND (%(role)s::text IS NULL OR role = %(role)s) "
        "  AND (%(client_id)s::uuid IS NULL OR client_id = %(client_id)s)",
        {"pattern": f"%{escape_like(search)}%" if search else None, "role": role, "client_id": client_id},
    )
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def update_user(conn: Conn, *, user_id: UUID, changes: dict[str, Any]) -> User | None:
    """Set `changes` (email, role, client_id, password_hash); a new password or role ends the user's
    tokens (the token version goes up). None if there is no such user."""
    allowed = {"email", "role", "client_id", "password_hash"}
    assert set(changes) <= allowed, set(changes) - allowed
    if "email" in changes:
        changes = {**changes, "email": str(changes["email"]).strip().lower()}
    assignments = [f"{name} = %({name})s" for name in changes]
    if {"password_hash", "role", "client_id"} & set(changes):
        assignments.append("token_version = token_version + 1")
    if not assignments:
        found = await get_user(conn, user_id=user_id)
        return User.model_validate(found.model_dump()) if found else None
    cur = await conn.execute(
        f"UPDATE users SET {', '.join(assignments)} WHERE id = %(id)s RETURNING {_COLUMNS}",
        {**changes, "id": user_id},
    )
    row = await cur.fetchone()
    return User.model_validate(row) if row else None


async def set_password(conn: Conn, *, user_id: UUID, password_hash: str) -> int | None:
    """Store a new password hash and end every token issued before; returns the new token version."""
    cur = await conn.execute(
        "UPDATE users SET password_hash = %(hash)s, token_version = token_version + 1 "
        "WHERE id = %(id)s RETURNING token_version",
        {"hash": password_hash, "id": user_id},
    )
    row = await cur.fetchone()
    return int(row["token_version"]) if row else None


async def record_login(conn: Conn, *, user_id: UUID) -> None:
    await conn.execute("UPDATE users SET last_login_at = now() WHERE id = %(id)s", {"id": user_id})


async def delete_user(conn: Conn, *, user_id: UUID) -> bool:
    cur = await conn.execute("DELETE FROM users WHERE id = %(id)s", {"id": user_id})
    return cur.rowcount == 1


async def count_admins(conn: Conn) -> int:
    """How many admins there are."""
    cur = await conn.execute("SELECT count(*) AS n FROM users WHERE role = 'admin'")
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


# Any constant: it only serialises the writes that may remove an admin (see `lock_admins`).
_ADMINS_LOCK_ID = 7_271_002


async def lock_admins(conn: Conn) -> None:
    """Hold until the current transaction ends the lock every delete or demotion of an admin takes
    before counting the admins, so two at once (two admins deleting each other) cannot both pass
    the "not the last admin" check."""
    await conn.execute("SELECT pg_advisory_xact_lock(%(id)s)", {"id": _ADMINS_LOCK_ID})
