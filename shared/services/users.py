"""Users as the admin API manages them: admins and client viewers, created with a chosen or a
generated password, changed, deleted; never the last admin."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import psycopg

from shared.db import Conn, Database
from shared.errors import ConflictError, NotFoundError, UnprocessableError
from shared.models import Role, User
from shared.models.admin.users import UserCreate, UserUpdate
from shared.repositories import clients, users
from shared.services import auth


async def list_users(
    db: Database, *, search: str | None, role: Role | None, client_id: UUID | None, limit: int, offset: int
) -> tuple[list[User], int]:
    """A page of users by email (optionally whose email contains `search`, of one role or client),
    and the total matching."""
    return await db.run(
        users.list_users, search=search, role=role, client_id=client_id, limit=limit, offset=offset
    )


async def get_user(db: Database, *, user_id: UUID) -> User:
    """One user (without its password hash); 404 if there is none."""
    found = await db.run(users.get_user, user_id=user_id)
    if found is None:
        raise _not_found(user_id)
    return _public(found)


async def create_user(db: Database, *, data: UserCreate) -> tuple[User, str | None]:
    """Create an admin or client viewer; returns the user and, when `data` has no password, the
    generated one (to show once). 409 if the email is taken, 422 for a weak password or a client
    that does not exist."""
    generated = None
    if data.password is None:
        password = generated = auth.generate_password()
    else:
        password = data.password
        auth.check_password_strength(password)
    if data.client_id is not None and await db.run(clients.get_client, client_id=data.client_id) is None:
        raise _unknown_client(data.client_id)
    if await db.run(users.get_user_by_email, email=data.email) is not None:
        raise _email_taken(data.email)
    password_hash = await asyncio.to_thread(auth.hash_password, password)
    try:
        user = await db.run(
            users.create_user,
            email=data.email,
            password_hash=password_hash,
            role=data.role,
            client_id=data.client_id,
        )
    except psycopg.errors.UniqueViolation:  # taken meanwhile
        raise _email_taken(data.email) from None
    except psycopg.errors.ForeignKeyViolation:  # the client was deleted meanwhile
        assert data.client_id is not None
        raise _unknown_client(data.client_id) from None
    return user, generated


async def update_user(db: Database, *, user_id: UUID, data: UserUpdate) -> tuple[User, list[str]]:
    """Apply the fields `data` sets; returns the user and the names of the fields that changed. A
    new password, role or client ends the user's sessions. 404 for an unknown user, 409 for a taken
    email or demoting the last admin, 422 for a weak password, an unknown client, or a role and
    client that do not go together."""
    given = data.model_dump(exclude_unset=True)
    changes: dict[str, Any] = {k: v for k, v in given.items() if k != "password"}
    if "password" in given:
        auth.check_password_strength(given["password"])
        changes["password_hash"] = await asyncio.to_thread(auth.hash_password, given["password"])
    client_id = changes.get("client_id")
    if client_id is not None and await db.run(clients.get_client, client_id=client_id) is None:
        raise _unknown_client(client_id)
    if "email" in changes:
        holder = await db.run(users.get_user_by_email, email=changes["email"])
        if holder is not None and holder.id != user_id:
            raise _email_taken(changes["email"])
    try:
        user, changed = await db.run(_update, user_id=user_id, changes=changes)
    except psycopg.errors.UniqueViolation:
        raise _email_taken(str(changes.get("email"))) from None
    except psycopg.errors.ForeignKeyViolation:
        raise _unknown_client(client_id) from None
    return user, ["password" if name == "password_hash" else name for name in sorted(changed)]


async def delete_user(db: Database, *, user_id: UUID) -> User:
    """Delete a user (its sessions end at once); returns who it was. 404 for an unknown user, 409
    for the last admin."""
    return await db.run(_delete, user_id=user_id)


async def _update(conn: Conn, *, user_id: UUID, changes: dict[str, Any]) -> tuple[User, set[str]]:
    async with conn.transaction():
        if "role" in changes:
            await users.lock_admins(conn)  # before counting the admins (see lock_admins)
        current = await users.get_user(conn, user_id=user_id)
        if current is None:
            raise _not_found(user_id)
        role: Role = changes.get("role", current.role)
        client_id = changes.get("client_id", current.client_id)
        if role == "admin":
            if changes.get("client_id") is not None:
                raise UnprocessableError(
                    "An admin belongs to no client: leave client_id out.", code="admin_has_no_client"
                )
            client_id = None
        elif client_id is None:
            raise UnprocessableError("A client viewer needs a client_id.", code="client_required")
        if current.role == "admin" and role != "admin" and await users.count_admins(conn) <= 1:
            raise _last_admin()
        final = {
            name: value
            for name, value in {**changes, "role": role, "client_id": client_id}.items()
            if name == "password_hash" or value != getattr(current, name)
        }
        if not final:
            return _public(current), set()
        updated = await users.update_user(conn, user_id=user_id, changes=final)
        assert updated is not None  # the row was there in this transaction
        return updated, set(final)


async def _delete(conn: Conn, *, user_id: UUID) -> User:
    async with conn.transaction():
        await users.lock_admins(conn)  # before counting the admins (see lock_admins)
        current = await users.get_user(conn, user_id=user_id)
        if current is None:
            raise _not_found(user_id)
        if current.role == "admin" and await users.count_admins(conn) <= 1:
            raise _last_admin()
        await users.delete_user(conn, user_id=user_id)
        return _public(current)


def _public(user: User) -> User:
    """`user` without its password hash, if it had one."""
    return User.model_validate(user.model_dump(exclude={"password_hash"}))


def _not_found(user_id: UUID) -> NotFoundError:
    return NotFoundError(f"There is no user {user_id}.", code="user_not_found")


def _unknown_client(client_id: UUID | None) -> UnprocessableError:
    return UnprocessableError(f"client_id: there is no client {client_id}.", code="unknown_client")


def _email_taken(email: str) -> ConflictError:
    return ConflictError(f"A user with the email {email} already exists.", code="email_taken")


def _last_admin() -> ConflictError:
    return ConflictError(
        "This is the last admin: create another admin before deleting or demoting this one.",
        code="last_admin",
    )
