"""Clients as the admin API manages them: listing, creating, changing, and deleting a client with
everything below it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from shared.db import Database
from shared.errors import NotFoundError
from shared.models import Client, ClientCreate
from shared.models.admin import DeletedCounts
from shared.models.admin.clients import ClientDetail, ClientUpdate
from shared.repositories import clients


def _detail(client: Client, widget_count: int) -> ClientDetail:
    return ClientDetail(**client.model_dump(), widget_count=widget_count)


def _not_found(client_id: UUID) -> NotFoundError:
    return NotFoundError(f"There is no client {client_id}.", code="client_not_found")


async def list_clients(
    db: Database, *, search: str | None, limit: int, offset: int
) -> tuple[list[tuple[Any, ...]], int]:
    """A page of clients by name whose name, company or email contains `search`, and the total
    (rows of the list's fields: `repositories.clients.list_clients_page`)."""
    return await db.run(clients.list_clients_page, search=search, limit=limit, offset=offset)


async def create_client(db: Database, *, data: ClientCreate) -> ClientDetail:
    """Create a client (it has no widgets yet)."""
    return _detail(await db.run(clients.create_client, data=data), 0)


async def get_client(db: Database, *, client_id: UUID) -> ClientDetail:
    """One client with its widget count; 404 if there is none."""
    found = await db.run(clients.get_client_with_widget_count, client_id=client_id)
    if found is None:
        raise _not_found(client_id)
    return _detail(*found)


async def update_client(
    db: Database, *, client_id: UUID, data: ClientUpdate
) -> tuple[ClientDetail, list[str]]:
    """Apply the fields `data` sets; returns the client and the names of the fields given. 404 if
    there is no such client."""
    changes = data.model_dump(exclude_unset=True)
    if changes and await db.run(clients.update_client, client_id=client_id, changes=changes) is None:
        raise _not_found(client_id)
    return await get_client(db, client_id=client_id), sorted(changes)


async def delete_client(db: Database, *, client_id: UUID) -> DeletedCounts:
    """Delete a client, its widgets and everything below them, and its viewers, at once; answers
    how many rows of each went. 404 if there is no such client."""
    counts = await db.run(clients.delete_client_counting, client_id=client_id)
    if counts is None:
        raise _not_found(client_id)
    return DeletedCounts(**counts)
