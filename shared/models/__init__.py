"""Pydantic models of the platform's data, one module per table group (mirroring `repositories/`),
plus the request and response schemas of the APIs (`chat`, `sessions`, and the admin and
analytics schemas), which only the functions serving them import.

The data models are re-exported here, so `from shared.models import Widget` names them.
"""

from shared.models.analytics import AnalyticsDay
from shared.models.base import Email, ImageUrl, LongText, Model, Origin, ShortText, WebhookUrl
from shared.models.chat_logs import ChatLog, ChatLogCreate, ChatStatus, Feedback
from shared.models.clients import Client, ClientCreate
from shared.models.users import Role, User, UserWithPassword
from shared.models.webhook_errors import WebhookError, WebhookErrorType
from shared.models.widgets import (
    HealthStatus,
    PublicWidgetConfig,
    RateLimitConfig,
    Widget,
    WidgetConfig,
    WidgetCreate,
    WidgetTheme,
)

__all__ = [
    "AnalyticsDay",
    "ChatLog",
    "ChatLogCreate",
    "ChatStatus",
    "Client",
    "ClientCreate",
    "Email",
    "Feedback",
    "HealthStatus",
    "ImageUrl",
    "LongText",
    "Model",
    "Origin",
    "PublicWidgetConfig",
    "RateLimitConfig",
    "Role",
    "ShortText",
    "User",
    "UserWithPassword",
    "WebhookError",
    "WebhookErrorType",
    "WebhookUrl",
    "Widget",
    "WidgetConfig",
    "WidgetCreate",
    "WidgetTheme",
]
