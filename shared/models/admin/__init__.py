"""The admin API's requests and responses, one module per table group like `repositories/`. Only
the admin function imports them (each model class costs import time: docs/benchmarks.md)."""

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

import pydantic_core
from pydantic import BaseModel, ConfigDict

from shared.models.base import Model

T = TypeVar("T")


class Page(Model, Generic[T]):
    """One page of a list: `items`, and the `total` matching the filters (limit/offset paging)."""

    items: list[T]
    total: int
    limit: int
    offset: int


def items_of_rows(model: type[BaseModel], rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """A list's items from database rows holding `model`'s fields, in its field order, with values of
    their types (what the list's repository selects): plain dicts, no model per row."""
    fields = tuple(model.model_fields)
    return [dict(zip(fields, row, strict=True)) for row in rows]


def page_json(items: list[dict[str, Any]], *, total: int, limit: int, offset: int) -> bytes:
    """The JSON of a `Page` of these items (`items_of_rows`), serialised once: the same bytes as the
    page model's own `model_dump_json`, without validating a model per item first (most of a list's
    Python work). The routes still document `Page[...]`; tests check the answers against it."""
    return pydantic_core.to_json({"items": items, "total": total, "limit": limit, "offset": offset})


class CursorPage(Model, Generic[T]):
    """One page of a long list, newest first: pass `next_cursor` back as `cursor` for the next."""

    items: list[T]
    next_cursor: str | None


class DeletedCounts(Model):
    """How many rows of each table a delete removed."""

    model_config = ConfigDict(defer_build=True)

    clients: int = 0
    widgets: int = 0
    chat_logs: int = 0
    analytics: int = 0
    webhook_errors: int = 0
    users: int = 0
