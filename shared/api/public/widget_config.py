"""Public widget configuration: what the embedded widget needs to draw itself, nothing private."""

import hashlib

from fastapi import APIRouter, Request, Response

from shared.api.public.deps import PublicWidgetDep, add_preflight
from shared.http import json_response
from shared.models import PublicWidgetConfig

router = APIRouter(tags=["widget"])
PATH = "/v1/widgets/{widget_id}/config"
CONFIG_MAX_AGE_SECONDS = 30


@router.get(
    PATH,
    response_model=PublicWidgetConfig,
    responses={304: {"description": "Not modified (ETag matched)"}},
)
async def get_widget_config(widget: PublicWidgetDep, request: Request) -> Response:
    """The widget's public fields. Cacheable: answers 304 when If-None-Match carries its ETag."""
    body = PublicWidgetConfig.from_widget(widget).model_dump_json().encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={CONFIG_MAX_AGE_SECONDS}"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return json_response(body, headers=headers)


add_preflight(router, PATH, "GET")
