"""Admin API: users (admins and client viewers): list, create, get, change, delete; never the last
admin."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query

from shared.api.admin.routing import admin_router
from shared.api.auth_deps import AdminDep
from shared.api.resources import ResourcesDep
from shared.http import ErrorResponse
from shared.models import Role
from shared.models.admin import DeletedCounts, Page
from shared.models.admin.users import UserCreate, UserCreated, UserUpdate
from shared.models.auth import UserOut
from shared.services import users
from shared.services.audit import audit

# Every route takes `AdminDep`: 401 without a valid token, 403 for a client viewer.
router = admin_router("users")

_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such user (code `user_not_found`)"}
}
_UNPROCESSABLE: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorResponse,
        "description": "Invalid fields; or a password under 12 characters (`weak_password`), a client "
        "that does not exist (`unknown_client`), a role and client that do not go together",
    }
}

Limit = Annotated[int, Query(ge=1, le=200, description="At most this many items")]
Offset = Annotated[int, Query(ge=0, le=2_147_483_647, description="Skip this many items first")]


@router.get("/users", response_model=Page[UserOut], summary="List users")
async def list_users(
    admin: AdminDep,
    resources: ResourcesDep,
    search: Annotated[
        str | None, Query(max_length=254, description="Only users whose email contains this")
    ] = None,
    role: Annotated[Role | None, Query(description="Only admins or only client viewers")] = None,
    client_id: Annotated[UUID | None, Query(description="Only the viewers of this client")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[UserOut]:
    """Users by email; `total` counts every match."""
    items, total = await users.list_users(
        resources.db, search=search or None, role=role, client_id=client_id, limit=limit, offset=offset
    )
    return Page[UserOut](items=[UserOut.of(u) for u in items], total=total, limit=limit, offset=offset)


@router.post(
    "/users",
    status_code=201,
    response_model=UserCreated,
    summary="Create an admin or a client viewer",
    responses={
        409: {"model": ErrorResponse, "description": "A user has this email (code `email_taken`)"},
        **_UNPROCESSABLE,
    },
)
async def create_user(body: UserCreate, admin: AdminDep, resources: ResourcesDep) -> UserCreated:
    """A new admin (no `client_id`) or client viewer (with the `client_id` of an existing client).
    Without `password` one is generated and answered in `password`, this once only."""
    user, generated = await users.create_user(resources.db, data=body)
    audit(admin, "user.create", user_id=user.id, role=user.role, client_id=user.client_id)
    return UserCreated(**UserOut.of(user).model_dump(), password=generated)


@router.get("/users/{user_id}", response_model=UserOut, summary="Get a user", responses=_NOT_FOUND)
async def get_user(user_id: UUID, admin: AdminDep, resources: ResourcesDep) -> UserOut:
    """One user (never its password)."""
    return UserOut.of(await users.get_user(resources.db, user_id=user_id))


@router.patch(
    "/users/{user_id}",
    response_model=UserOut,
    summary="Change a user",
    responses={
        **_NOT_FOUND,
        409: {
            "model": ErrorResponse,
            "description": "The email is taken (`email_taken`), or this is the last admin (`last_admin`)",
        },
        **_UNPROCESSABLE,
    },
)
async def update_user(user_id: UUID, body: UserUpdate, admin: AdminDep, resources: ResourcesDep) -> UserOut:
    """Change the fields given: `email`, `role`, `client_id`, `password` (a reset). A new role,
    client or password ends the user's sessions. The last admin cannot be made a client viewer."""
    user, fields = await users.update_user(resources.db, user_id=user_id, data=body)
    if fields:
        audit(admin, "user.update", user_id=user_id, fields=fields)
    return UserOut.of(user)


@router.delete(
    "/users/{user_id}",
    response_model=DeletedCounts,
    summary="Delete a user",
    responses={
        **_NOT_FOUND,
        409: {"model": ErrorResponse, "description": "This is the last admin (code `last_admin`)"},
    },
)
async def delete_user(user_id: UUID, admin: AdminDep, resources: ResourcesDep) -> DeletedCounts:
    """Delete a user; its sessions end at once. The last admin cannot be deleted."""
    deleted = await users.delete_user(resources.db, user_id=user_id)
    audit(admin, "user.delete", user_id=user_id, role=deleted.role)
    return DeletedCounts(users=1)
