"""The admin API's requests and responses, one module per table group like `repositories/`. Only
the admin function imports them (each model class costs import time: docs/benchmarks.md)."""

from typing import Generic, TypeVar

from pydantic import ConfigDict

from shared.models.base import Model

T = TypeVar("T")


class Page(Model, Generic[T]):
    """One page of a list: `items`, and the `total` matching the filters (limit/offset paging)."""

    items: list[T]
    total: int
    limit: int
    offset: int


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
