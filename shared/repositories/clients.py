"""Clients: the businesses an agency runs widgets for."""

from __future__ import annotations

from uuid import UUID

from shared.db import Conn
from shared.models import Client, ClientCreate

_COLUMNS = "id, name, contact_email, company_name, created_at, updated_at"


async def create_client(conn: Conn, *, data: ClientCreate) -> Client:
    """Insert a client and return it."""
    cur = await conn.execute(
        f"INSERT INTO clients (name, contact_email, company_name) "
        f"VALUES (%(name)s, %(contact_email)s, %(company_name)s) RETURNING {_COLUMNS}",
        data.model_dump(),
    )
    row = await cur.fetchone()
    assert row is not None
    return Client.model_validate(row)


async def get_client(conn: Conn, *, client_id: UUID) -> Client | None:
    """One client by id, or None."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM clients WHERE id = %(id)s", {"id": client_id})
    row = await cur.fetchone()
    return Client.model_validate(row) if row else None


async def list_clients(
    conn: Conn, *, search: str | None = None, limit: int = 50, offset: int = 0
) -> list[Client]:
    """Clients by name, optionally those whose name, company or email contains `search`."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM clients "
        "WHERE %(pattern)s::text IS NULL OR name ILIKE %(pattern)s OR company_name ILIKE %(pattern)s "
        "   OR contact_email ILIKE %(pattern)s "
        "ORDER BY lower(name), id LIMIT %(limit)s OFFSET %(offset)s",
        {"pattern": f"%{_escape_like(search)}%" if search else None, "limit": limit, "offset": offset},
    )
    return [Client.model_validate(row) for row in await cur.fetchall()]


async def delete_client(conn: Conn, *, client_id: UUID) -> bool:
    """Delete a client and, by cascade, its widgets and all their data. False if it did not exist."""
    cur = await conn.execute("DELETE FROM clients WHERE id = %(id)s", {"id": client_id})
    return cur.rowcount == 1


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
