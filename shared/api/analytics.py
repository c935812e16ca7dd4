"""The analytics API (`/v1/analytics`, DESIGN.md "Analytics"): read-only, for admins (every widget
and client) and client viewers (their own client's only; anything else answers the same 404 whether
or not it exists)."""

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response

from shared.api.auth_deps import UserDep
from shared.api.resources import ResourcesDep
from shared.http import ErrorResponse, json_response
from shared.models.analytics_api import ClientAnalytics, WidgetAnalytics, WidgetList
from shared.services import analytics

router = APIRouter(prefix="/v1/analytics", tags=["analytics"])

From = Annotated[
    date | None, Query(alias="from", description="First local day (default: 29 days before `to`)")
]
To = Annotated[date | None, Query(description="Last local day, inclusive (default: today in `tz`)")]
Tz = Annotated[str, Query(max_length=64, description="IANA time zone of the days and the hourly grid")]
Format = Annotated[Literal["json", "csv"], Query(description="`csv`: a spreadsheet export")]

_CSV_OK: dict[str, Any] = {"content": {"text/csv": {"schema": {"type": "string"}}}}


def _responses(what: str) -> dict[int | str, dict[str, Any]]:
    return {
        200: _CSV_OK,
        404: {"model": ErrorResponse, "description": f"No such {what}, or not yours to see"},
        422: {"model": ErrorResponse, "description": "Bad dates, a range over 366 days, unknown time zone"},
    }


def _csv_response(body: str, filename: str) -> Response:
    return Response(
        content=body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


@router.get("/widgets", response_model=WidgetList, summary="Widgets you may see, with recent chats")
async def list_widgets(user: UserDep, resources: ResourcesDep, tz: Tz = "UTC") -> Response:
    """Every widget an admin may see (a client viewer: its own client's), with today's chats and
    the last 30 days' (local days in `tz`)."""
    return json_response(
        await analytics.widget_list(resources.db, user=user, tz_name=tz, now=datetime.now(UTC))
    )


@router.get(
    "/widgets/{widget_id}",
    response_model=WidgetAnalytics,
    summary="A widget's analytics over a range",
    responses=_responses("widget"),
)
async def get_widget_analytics(
    widget_id: UUID,
    user: UserDep,
    resources: ResourcesDep,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
    format: Format = "json",
) -> Response:
    """Totals, every day of the range (zero days included), the weekday x hour grid of messages,
    top questions and topics and the knowledge gaps. `format=csv` exports the daily series."""
    rng = analytics.date_range(from_, to, tz, now=datetime.now(UTC))
    result = await analytics.widget_analytics(resources.db, user=user, widget_id=widget_id, rng=rng)
    if format == "csv":
        return _csv_response(
            analytics.widget_csv(result), analytics.file_name("widget", result.widget.name, rng)
        )
    return json_response(result)


@router.get(
    "/clients/{client_id}",
    response_model=ClientAnalytics,
    summary="A client's widgets' totals over a range",
    responses=_responses("client"),
)
async def get_client_analytics(
    client_id: UUID,
    user: UserDep,
    resources: ResourcesDep,
    from_: From = None,
    to: To = None,
    tz: Tz = "UTC",
    format: Format = "json",
) -> Response:
    """Each widget's totals and the client's total. `format=csv` exports them, total last."""
    rng = analytics.date_range(from_, to, tz, now=datetime.now(UTC))
    result = await analytics.client_analytics(resources.db, user=user, client_id=client_id, rng=rng)
    if format == "csv":
        return _csv_response(
            analytics.client_csv(result), analytics.file_name("client", result.client.name, rng)
        )
    return json_response(result)
