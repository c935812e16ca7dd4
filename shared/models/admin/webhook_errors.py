"""The admin API's webhook error review: one failed call to a widget's workflow, with the names of
its widget and client."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from shared.models.base import Model


class WebhookErrorOut(Model):
    """One failure; `error_message` was redacted when it was written (no URLs, no secrets)."""

    id: UUID
    widget_id: UUID
    widget_name: str
    client_id: UUID
    client_name: str
    error_type: str | None
    error_message: str | None
    occurred_at: datetime
