"""A short-lived in-process cache of widget rows, so a public request costs one read at most."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID

from shared.db import Database
from shared.models import Widget
from shared.repositories import widgets

MAX_ENTRIES = 10_000


class WidgetCache:
    """Widgets (and misses) by id for `ttl_seconds`; an admin's change is live within that time."""

    def __init__(self, *, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[UUID, tuple[float, Widget | None]] = {}

    async def get(self, db: Database, widget_id: UUID) -> Widget | None:
        """The widget, from the cache when it was read less than `ttl_seconds` ago."""
        now = self._clock()
        hit = self._entries.get(widget_id)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        widget = await db.run(widgets.get_widget, widget_id=widget_id)
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[widget_id] = (now, widget)
        return widget

    def forget(self, widget_id: UUID) -> None:
        """Drop a widget known to be gone, so the next request reads the database again."""
        self._entries.pop(widget_id, None)
