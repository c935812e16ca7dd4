"""Create an admin or a client viewer: the first admin of a deployment, or any user.

    python -m scripts.create_user --email E --role admin|client [--client-id UUID] [--password P]

Without --password it asks for one twice when run in a terminal (leave it empty to have one
generated); otherwise, or when left empty, it generates one and prints it once. Passwords need 12
characters at least. The database is $DATABASE_URL, else the embedded development database; pending
migrations are applied first. Exits 2 with the reason for an unknown client, an email that exists,
a weak password or a role and client that do not go together.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable
from uuid import UUID

import psycopg
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from scripts.localdb import database_url
from scripts.migrate import MigrationError, migrate
from shared.db import Database
from shared.errors import AppError, DatabaseUnavailableError
from shared.models import Role, User
from shared.models.admin.users import UserCreate
from shared.services import users


class UsageError(Exception):
    """The user cannot be created as asked (exit status 2)."""


async def add_user(
    db: Database, *, email: str, role: Role, client_id: UUID | None = None, password: str | None = None
) -> tuple[User, str | None]:
    """Create the user as the admin API does; returns it and the generated password (None when
    `password` was given). Raises `AppError` (email taken, weak password, unknown client) or
    pydantic's `ValidationError` (a malformed email, a role and client that do not go together)."""
    data = UserCreate(email=email, role=role, client_id=client_id, password=password)
    return await users.create_user(db, data=data)


def ask_password(prompt: Callable[[str], str] = getpass.getpass) -> str | None:
    """The password typed twice; None when left empty (generate one)."""
    first = prompt("Password (12 characters at least; empty to generate one): ")
    if not first:
        return None
    if prompt("The same password again: ") != first:
        raise UsageError("the two passwords differ")
    return first


async def _create(url: str, args: argparse.Namespace, password: str | None) -> tuple[User, str | None]:
    db = Database(url)
    try:
        return await add_user(
            db, email=args.email, role=args.role, client_id=args.client_id, password=password
        )
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--email", required=True)
    parser.add_argument("--role", required=True, choices=["admin", "client"])
    parser.add_argument("--client-id", type=UUID, help="the client of a client viewer (role client)")
    parser.add_argument(
        "--password", help="the password (visible to other users of this machine: prefer the prompt)"
    )
    args = parser.parse_args(argv)
    try:
        password = args.password
        if password is None and sys.stdin.isatty():
            password = ask_password()
        url = database_url()
        migrate(url)
        user, generated = asyncio.run(_create(url, args, password))
    except UsageError as exc:
        return _fail(str(exc))
    except (MigrationError, psycopg.OperationalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DatabaseUnavailableError as exc:
        print(f"error: the database is unavailable: {exc.reason}", file=sys.stderr)
        return 1
    except AppError as exc:
        return _fail(exc.message)
    except ValidationError as exc:
        return _fail("; ".join(_describe(error) for error in exc.errors()))
    except (KeyboardInterrupt, EOFError):
        print("\ncancelled", file=sys.stderr)
        return 130
    created = f"created {user.role} {user.email} ({user.id})"
    if user.client_id:
        created += f" of client {user.client_id}"
    print(created)
    if generated:
        print(f"password: {generated}   (shown once; keep it)")
    return 0


def _fail(reason: str) -> int:
    print(f"error: {reason}", file=sys.stderr)
    return 2


def _describe(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


if __name__ == "__main__":
    raise SystemExit(main())
