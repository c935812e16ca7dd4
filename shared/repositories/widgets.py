"""Widgets: configuration, webhook and secret of each embeddable chat."""

from __future__ import annotations

from uuid import UUID

from psycopg.types.json import Jsonb

from shared.db import Conn
from shared.models import Widget, WidgetCreate

_COLUMNS = (
    "id, client_id, name, config, webhook_url, widget_secret, is_active, is_demo, expires_at, "
    "health_status, health_checked_at, consecutive_failures, created_at, updated_at"
)


async def create_widget(conn: Conn, *, data: WidgetCreate, widget_secret: str) -> Widget:
    """Insert a widget with its (server-generated) secret and return it."""
    cur = await conn.execute(
        "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret, is_active, is_demo, expires_at) "
        "VALUES (%(client_id)s, %(name)s, %(config)s, %(webhook_url)s, %(widget_secret)s, %(is_active)s, "
        f"        %(is_demo)s, %(expires_at)s) RETURNING {_COLUMNS}",
        {
            **data.model_dump(exclude={"config"}),
            "config": Jsonb(data.config.model_dump(mode="json")),
            "widget_secret": widget_secret,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return Widget.model_validate(row)


async def get_widget(conn: Conn, *, widget_id: UUID) -> Widget | None:
    """One widget by id (active or not), or None."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM widgets WHERE id = %(id)s", {"id": widget_id})
    row = await cur.fetchone()
    return Widget.model_validate(row) if row else None


async def list_widgets(
    conn: Conn, *, client_id: UUID | None = None, is_demo: bool | None = None
) -> list[Widget]:
    """Widgets, optionally of one client and/or only demo (or only non-demo) widgets."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM widgets "
        "WHERE (%(client_id)s::uuid IS NULL OR client_id = %(client_id)s) "
        "  AND (%(is_demo)s::boolean IS NULL OR is_demo = %(is_demo)s) "
        "ORDER BY created_at, id",
        {"client_id": client_id, "is_demo": is_demo},
    )
    return [Widget.model_validate(row) for row in await cur.fetchall()]


async def delete_widget(conn: Conn, *, widget_id: UUID) -> bool:
    """Delete a widget and, by cascade, its logs, analytics and errors. False if it did not exist."""
    cur = await conn.execute("DELETE FROM widgets WHERE id = %(id)s", {"id": widget_id})
    return cur.rowcount == 1


async def set_webhook_url(conn: Conn, *, widget_id: UUID, webhook_url: str) -> bool:
    """Point a widget at another webhook. False if it does not exist."""
    cur = await conn.execute(
        "UPDATE widgets SET webhook_url = %(url)s WHERE id = %(id)s", {"url": webhook_url, "id": widget_id}
    )
    return cur.rowcount == 1
