"""The admin routers' routes, analysed by FastAPI when first needed rather than at import.

FastAPI analyses a route twice: when the router's decorator creates it (its parameters, body and
response model, each a pydantic field with its own schema), and again, for every route of an
included router, when the app serves its first request (the route as the app sees it, with the
app's prefix, responses and dependencies). Only the second is ever used by an app that includes the
router: requests run on it and the OpenAPI document is made from it. The first was most of the
admin function's extra cold start over the other functions (some thirty routes; docs/benchmarks.md
"Cold start").

`DeferredRoute` keeps what the decorator gave and sets at once only the plain attributes (path,
methods, name, summary, responses...), which is all that including the router and building the
app's own view of the route read; the analysis runs if anything asks for one of its results
(`dependant`, `response_field`, `app`...), e.g. a router served without an app. Routes whose
response model comes from the return annotation are analysed at once, as FastAPI does.
"""

import inspect
from collections.abc import Callable
from enum import IntEnum
from typing import Any

from fastapi import APIRouter, routing
from fastapi.datastructures import Default, DefaultPlaceholder
from fastapi.responses import JSONResponse
from fastapi.utils import generate_unique_id
from starlette.routing import compile_path, get_name

# What FastAPI's analysis of a route sets (fastapi.routing._populate_api_route_state) beyond the
# plain attributes `DeferredRoute` sets itself.
_ANALYSED = frozenset(
    {
        "app",
        "dependant",
        "body_field",
        "response_field",
        "response_fields",
        "stream_item_field",
        "_embed_body_fields",
        "is_sse_stream",
        "is_json_stream",
    }
)


# The attributes `DeferredRoute` sets at once, as FastAPI's analysis would.
PLAIN_ATTRIBUTES = (
    "path",
    "endpoint",
    "stream_item_type",
    "summary",
    "response_description",
    "deprecated",
    "operation_id",
    "response_model_include",
    "response_model_exclude",
    "response_model_by_alias",
    "response_model_exclude_unset",
    "response_model_exclude_defaults",
    "response_model_exclude_none",
    "include_in_schema",
    "response_class",
    "dependency_overrides_provider",
    "callbacks",
    "openapi_extra",
    "generate_unique_id_function",
    "strict_content_type",
    "tags",
    "responses",
    "name",
    "path_format",
    "param_convertors",
    "methods",
    "unique_id",
    "status_code",
    "dependencies",
    "description",
    "response_model",
)


class DeferredRoute(routing.APIRoute):
    """An `APIRoute` whose analysis waits until one of its results is asked for.

    `arguments`: what the router gave to make it (path, endpoint, options); `analysed`: whether
    FastAPI's analysis has run."""

    arguments: tuple[str, Callable[..., Any], dict[str, Any]]
    analysed: bool

    def __init__(self, path: str, endpoint: Callable[..., Any], **options: Any) -> None:
        response_model = options.get("response_model")
        if response_model is None or isinstance(response_model, DefaultPlaceholder):
            self.arguments, self.analysed = (path, endpoint, options), True
            super().__init__(path, endpoint, **options)
            return
        self.arguments = (path, endpoint, options)
        self.analysed = False
        # The plain part of fastapi.routing._populate_api_route_state, in its order.
        self.path = path
        self.endpoint = endpoint
        self.stream_item_type = options.get("stream_item_type")
        self.summary = options.get("summary")
        self.response_description = options.get("response_description", "Successful Response")
        self.deprecated = options.get("deprecated")
        self.operation_id = options.get("operation_id")
        self.response_model_include = options.get("response_model_include")
        self.response_model_exclude = options.get("response_model_exclude")
        self.response_model_by_alias = options.get("response_model_by_alias", True)
        self.response_model_exclude_unset = options.get("response_model_exclude_unset", False)
        self.response_model_exclude_defaults = options.get("response_model_exclude_defaults", False)
        self.response_model_exclude_none = options.get("response_model_exclude_none", False)
        self.include_in_schema = options.get("include_in_schema", True)
        self.response_class = options.get("response_class", Default(JSONResponse))
        self.dependency_overrides_provider = options.get("dependency_overrides_provider")
        self.callbacks = options.get("callbacks")
        self.openapi_extra = options.get("openapi_extra")
        self.generate_unique_id_function = options.get(
            "generate_unique_id_function", Default(generate_unique_id)
        )
        self.strict_content_type = options.get("strict_content_type", Default(True))
        self.tags = options.get("tags") or []
        self.responses = options.get("responses") or {}
        name = options.get("name")
        self.name = get_name(endpoint) if name is None else name
        self.path_regex, self.path_format, self.param_convertors = compile_path(path)
        self.methods = {method.upper() for method in options.get("methods") or ["GET"]}
        generate = self.generate_unique_id_function
        if isinstance(generate, DefaultPlaceholder):
            generate = generate.value
        self.unique_id = self.operation_id or generate(self)
        status_code = options.get("status_code")
        self.status_code = int(status_code) if isinstance(status_code, IntEnum) else status_code
        self.dependencies = list(options.get("dependencies") or [])
        self.description = options.get("description") or inspect.cleandoc(endpoint.__doc__ or "")
        self.description = self.description.split("\f")[0].strip()
        self.response_model = response_model

    def __getattr__(self, name: str) -> Any:
        # Only called for an attribute not set: one of the analysis's results, before it ran.
        if name not in _ANALYSED or self.__dict__.get("analysed", True):
            raise AttributeError(name)
        self.analysed = True
        path, endpoint, options = self.arguments
        # As a route of its own, not as some app's view of it (which FastAPI marks while it builds
        # one); with the responses as they are now (the app documents errors on them in place).
        context = getattr(routing, "_effective_route_context_var", None)
        token = context.set(None) if context is not None else None
        try:
            routing.APIRoute.__init__(self, path, endpoint, **{**options, "responses": self.responses})
        finally:
            if context is not None and token is not None:
                context.reset(token)
        return getattr(self, name)


def admin_router(tag: str) -> APIRouter:
    """A router under `/v1/admin` whose routes are analysed when first needed."""
    return APIRouter(prefix="/v1/admin", tags=[tag], route_class=DeferredRoute)
