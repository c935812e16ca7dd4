"""Admin API: the webhook errors behind failed exchanges, for troubleshooting a widget's workflow."""

from typing import Annotated
from uuid import UUID

from fastapi import Query
from pydantic import AwareDatetime

from shared.api.admin.routing import admin_router
from shared.api.auth_deps import AdminDep
from shared.api.resources import ResourcesDep
from shared.models import WebhookErrorType
from shared.models.admin import CursorPage
from shared.models.admin.webhook_errors import WebhookErrorOut
from shared.services import conversations

router = admin_router("webhook_errors")


@router.get(
    "/webhook-errors",
    response_model=CursorPage[WebhookErrorOut],
    summary="Review webhook errors",
    responses={
        404: {"description": "No such widget or client (widget_not_found, client_not_found)"},
        422: {
            "description": "An unknown error_type, a naive or malformed time, or a bad cursor (invalid_cursor)"
        },
    },
)
async def list_webhook_errors(
    admin: AdminDep,
    resources: ResourcesDep,
    widget_id: Annotated[UUID | None, Query()] = None,
    client_id: Annotated[UUID | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query(description="Inclusive, with a timezone")] = None,
    error_type: Annotated[WebhookErrorType | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CursorPage[WebhookErrorOut]:
    """Failed calls to workflows, newest first, with widget and client names; messages were
    redacted when written. Pass `next_cursor` back as `cursor` for the next page."""
    return await conversations.list_webhook_errors(
        resources.db,
        widget_id=widget_id,
        client_id=client_id,
        since=since,
        error_type=error_type,
        cursor=cursor,
        limit=limit,
    )
