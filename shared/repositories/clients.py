"""Clients: the businesses an agency runs widgets for."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Conn
from shared.models import Client, ClientCreate
from shared.repositories.sql import escape_like, fetch_page, page_with_total

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
        {"pattern": f"%{escape_like(search)}%" if search else None, "limit": limit, "offset": offset},
    )
    return [Client.model_validate(row) for row in await cur.fetchall()]


async def delete_client(conn: Conn, *, client_id: UUID) -> bool:
    """Delete a client and, by cascade, its widgets and all their data. False if it did not exist."""
    cur = await conn.execute("DELETE FROM clients WHERE id = %(id)s", {"id": client_id})
    return cur.rowcount == 1


# The admin API's reads: a client's columns and how many widgets it has, in `ClientDetail`'s order
# (the widget count last).
_DETAIL_COLUMNS = (
    f"{', '.join('c.' + c for c in _COLUMNS.split(', '))}, "
    "(SELECT count(*) FROM widgets w WHERE w.client_id = c.id) AS widget_count"
)
_SEARCH = (
    "(c.name ILIKE %(pattern)s OR c.company_name ILIKE %(pattern)s OR c.contact_email ILIKE %(pattern)s)"
)


async def get_client_with_widget_count(conn: Conn, *, client_id: UUID) -> tuple[Client, int] | None:
    """One client and its number of widgets, or None."""
    cur = await conn.execute(
        f"SELECT {_DETAIL_COLUMNS} FROM clients c WHERE c.id = %(id)s", {"id": client_id}
    )
    row = await cur.fetchone()
    return (Client.model_validate(row), int(row["widget_count"])) if row else None


async def list_clients_page(
    conn: Conn, *, search: str | None, limit: int, offset: int
) -> tuple[list[tuple[Any, ...]], int]:
    """A page of clients by name, optionally those whose name, company or email contains `search`
    (case-insensitive), and the total matching, in one statement (`sql.page_with_total`). Rows are
    tuples of the admin list's fields, in `ClientDetail`'s order (the widget count last)."""
    conditions = [_SEARCH] if search else []
    statement = page_with_total(
        table="clients",
        alias="c",
        conditions=conditions,
        order="lower(c.name), c.id",
        columns=_DETAIL_COLUMNS,
    )
    params = {"pattern": f"%{escape_like(search)}%" if search else None, "limit": limit, "offset": offset}
    return await fetch_page(conn, statement, params)


async def update_client(conn: Conn, *, client_id: UUID, changes: dict[str, Any]) -> Client | None:
    """Set `changes` (name, contact_email, company_name; None clears the optional ones). None if
    there is no such client."""
    allowed = {"name", "contact_email", "company_name"}
    assert changes and set(changes) <= allowed, set(changes) - allowed
    assignments = ", ".join(f"{name} = %({name})s" for name in changes)  # names from `allowed` only
    cur = await conn.execute(
        f"UPDATE clients SET {assignments} WHERE id = %(id)s RETURNING {_COLUMNS}",
        {**changes, "id": client_id},
    )
    row = await cur.fetchone()
    return Client.model_validate(row) if row else None


async def delete_client_counting(conn: Conn, *, client_id: UUID) -> dict[str, int] | None:
    """Delete a client and everything below it (widgets, their chat logs, analytics and webhook
    errors, the client's viewers) in one transaction; returns how many rows of each table went, or
    None if there was no such client.

    The client's row and its widgets' rows are locked first, so no widget, viewer, log, rollup or
    error can be added under them meanwhile: the counts are exactly what the delete removes."""
    async with conn.transaction():
        cur = await conn.execute("SELECT id FROM clients WHERE id = %(id)s FOR UPDATE", {"id": client_id})
        if await cur.fetchone() is None:
            return None
        cur = await conn.execute(
            "SELECT id FROM widgets WHERE client_id = %(id)s ORDER BY id FOR UPDATE", {"id": client_id}
        )
        widget_ids = [row["id"] for row in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT "
            " (SELECT count(*) FROM chat_logs WHERE widget_id = ANY(%(widgets)s::uuid[])) AS chat_logs, "
            " (SELECT count(*) FROM analytics WHERE widget_id = ANY(%(widgets)s::uuid[])) AS analytics, "
            " (SELECT count(*) FROM webhook_errors WHERE widget_id = ANY(%(widgets)s::uuid[])) AS webhook_errors, "
            " (SELECT count(*) FROM users WHERE client_id = %(id)s) AS users",
            {"id": client_id, "widgets": widget_ids},
        )
        counts = await cur.fetchone()
        assert counts is not None
        cur = await conn.execute("DELETE FROM clients WHERE id = %(id)s", {"id": client_id})
        return {
            "clients": cur.rowcount,
            "widgets": len(widget_ids),
            **{table: int(n) for table, n in counts.items()},
        }
