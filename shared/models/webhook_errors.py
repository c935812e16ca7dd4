"""Webhook errors: one failed call to a widget's workflow, and the kinds of failure."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.models.base import Model

WebhookErrorType = Literal[
    "timeout",
    "unreachable",
    "tls",
    "not_registered",
    "http_4xx",
    "http_5xx",
    "workflow_error",
    "invalid_response",
    "unsupported_response",
    "too_large",
    "blocked_address",
    "overloaded",
]


class WebhookError(Model):
    id: UUID
    widget_id: UUID
    error_type: str | None
    error_message: str | None
    occurred_at: datetime
