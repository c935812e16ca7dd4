"""Admin API: clients (list with search and paging, create, get, change, delete with everything
below them)."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query, Response

from shared.api.admin.routing import admin_router
from shared.api.auth_deps import AdminDep
from shared.api.resources import ResourcesDep
from shared.http import ErrorResponse, json_response
from shared.models import ClientCreate
from shared.models.admin import DeletedCounts, Page, items_of_rows, page_json
from shared.models.admin.clients import ClientDetail, ClientUpdate
from shared.services import clients
from shared.services.audit import audit

# Every route takes `AdminDep`: 401 without a valid token, 403 for a client viewer.
router = admin_router("clients")

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such client (code `client_not_found`)"}
}

Limit = Annotated[int, Query(ge=1, le=200, description="At most this many items")]
Offset = Annotated[int, Query(ge=0, le=2_147_483_647, description="Skip this many items first")]


@router.get("/clients", response_model=Page[ClientDetail], summary="List clients")
async def list_clients(
    admin: AdminDep,
    resources: ResourcesDep,
    search: Annotated[
        str | None,
        Query(max_length=200, description="Only clients whose name, company or email contains this"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    """Clients by name, each with its number of widgets; `search` matches name, company and contact
    email (case-insensitive). `total` counts every match."""
    rows, total = await clients.list_clients(resources.db, search=search or None, limit=limit, offset=offset)
    items = items_of_rows(ClientDetail, rows)
    return json_response(page_json(items, total=total, limit=limit, offset=offset))


@router.post("/clients", status_code=201, response_model=ClientDetail, summary="Create a client")
async def create_client(body: ClientCreate, admin: AdminDep, resources: ResourcesDep) -> ClientDetail:
    """A new client (no widgets yet)."""
    client = await clients.create_client(resources.db, data=body)
    audit(admin, "client.create", client_id=client.id)
    return client


@router.get("/clients/{client_id}", response_model=ClientDetail, summary="Get a client", responses=_NOT_FOUND)
async def get_client(client_id: UUID, admin: AdminDep, resources: ResourcesDep) -> ClientDetail:
    """One client with its number of widgets."""
    return await clients.get_client(resources.db, client_id=client_id)


@router.patch(
    "/clients/{client_id}", response_model=ClientDetail, summary="Change a client", responses=_NOT_FOUND
)
async def update_client(
    client_id: UUID, body: ClientUpdate, admin: AdminDep, resources: ResourcesDep
) -> ClientDetail:
    """Change the fields given (`name`, `contact_email`, `company_name`); null clears the email or
    the company. Unknown fields answer 422."""
    client, fields = await clients.update_client(resources.db, client_id=client_id, data=body)
    if fields:
        audit(admin, "client.update", client_id=client_id, fields=fields)
    return client


@router.delete(
    "/clients/{client_id}",
    response_model=DeletedCounts,
    summary="Delete a client and everything below it",
    responses=_NOT_FOUND,
)
async def delete_client(client_id: UUID, admin: AdminDep, resources: ResourcesDep) -> DeletedCounts:
    """Delete the client, its widgets with their chat logs, analytics and webhook errors, and its
    viewer accounts, all at once; answers how many rows of each went."""
    counts = await clients.delete_client(resources.db, client_id=client_id)
    audit(admin, "client.delete", client_id=client_id, **counts.model_dump())
    return counts
