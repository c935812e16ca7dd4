"""Pydantic models of the platform's data: what the repositories return and the APIs accept."""

from datetime import date, datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
)

from shared.webhook_url import check_webhook_url


class Model(BaseModel):
    """Base of every model: schemas are built on first use, so a function only pays for the models
    it actually uses (building them all at import added ~15 ms to every cold start)."""

    model_config = ConfigDict(defer_build=True)


HexColor = Annotated[str, StringConstraints(pattern=r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")]
# Font stacks are placed in CSS: letters, digits, spaces, commas, quotes and hyphens only.
FontFamily = Annotated[str, StringConstraints(max_length=200, pattern=r"^[\w\s,'\"-]+$")]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


def _check_image_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _normalise_origin(value: str) -> str:
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError("must be an origin such as https://www.example.com")
    return f"{parts.scheme}://{parts.netloc}"


ImageUrl = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_check_image_url)]
# Every webhook URL a caller gives us (DESIGN.md "Webhook URL policy"); what the deployment allows
# (https only, no private addresses...) is `Settings.webhook_policy`, checked on save and on call.
WebhookUrl = Annotated[str, AfterValidator(check_webhook_url)]
Origin = Annotated[str, StringConstraints(max_length=300), AfterValidator(_normalise_origin)]


class WidgetTheme(Model):
    """Branding. The defaults meet WCAG AA contrast (white on #1d4ed8 is 6.7:1)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    primary_color: HexColor = "#1d4ed8"
    on_primary_color: HexColor = "#ffffff"
    text_color: HexColor = "#111827"
    background_color: HexColor = "#ffffff"
    bot_bubble_color: HexColor = "#f3f4f6"
    font_family: FontFamily = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
    corner_radius: int = Field(12, ge=0, le=32)


class RateLimitConfig(Model):
    """Per-widget limits on the public routes, each counted in fixed one-minute windows.

    "Per address" is per IPv4 address, or per IPv6 /64 (one subscriber's network).
    """

    model_config = ConfigDict(extra="ignore", defer_build=True)

    # Messages (each one calls the workflow): per session and per address.
    per_session_per_minute: int = Field(20, ge=1, le=10_000)
    per_ip_per_minute: int = Field(60, ge=1, le=100_000)
    # Session starts and renewals per address (a visitor needs one per page load at most).
    per_ip_sessions_per_minute: int = Field(30, ge=1, le=100_000)
    # History reads per address (opening the widget reads up to 10 pages).
    per_ip_reads_per_minute: int = Field(120, ge=1, le=100_000)
    # Thumbs up or down per address.
    per_ip_feedback_per_minute: int = Field(60, ge=1, le=100_000)


class WidgetConfig(Model):
    """The `widgets.config` JSONB document: public branding plus private behaviour settings."""

    model_config = ConfigDict(extra="ignore", defer_build=True)

    # Public: sent to browsers by GET config.
    title: ShortText = "Chat with us"
    subtitle: ShortText = ""
    welcome_message: LongText = ""
    first_message: LongText = "Hi! How can I help you today?"
    starter_prompts: list[ShortText] = Field(default_factory=list, max_length=8)
    placeholder: ShortText = "Type your message…"
    avatar_url: ImageUrl | None = None
    launcher_icon: ImageUrl | None = None
    position: Literal["right", "left"] = "right"
    theme: WidgetTheme = Field(default_factory=WidgetTheme)
    strings: dict[Annotated[str, StringConstraints(max_length=60)], ShortText] = Field(
        default_factory=dict, max_length=60
    )
    locale: Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*$")] = "en"
    direction: Literal["ltr", "rtl"] = "ltr"
    # Private: never sent to browsers.
    prompt: Annotated[str, StringConstraints(max_length=20_000)] = ""
    personality: Annotated[str, StringConstraints(max_length=5_000)] = ""
    allowed_origins: list[Origin] = Field(default_factory=list, max_length=50)
    fallback_message: LongText = "Sorry, I can't answer right now. Please try again in a moment."
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)


HealthStatus = Literal["unknown", "healthy", "failing"]


class Widget(Model):
    """A widget row as the backend sees it, secret included. Never serialise it to a browser."""

    id: UUID
    client_id: UUID
    name: str
    config: WidgetConfig
    webhook_url: str  # written through WebhookUrl; checked again on every call
    widget_secret: SecretStr
    is_active: bool
    is_demo: bool
    expires_at: datetime | None
    health_status: HealthStatus
    health_checked_at: datetime | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime

    def is_available(self, now: datetime) -> bool:
        """Whether visitors may use it: active and not past its expiry."""
        return self.is_active and (self.expires_at is None or self.expires_at > now)


class WidgetCreate(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    client_id: UUID
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    webhook_url: WebhookUrl
    config: WidgetConfig = Field(default_factory=WidgetConfig)
    is_active: bool = True
    is_demo: bool = False
    expires_at: datetime | None = None


class PublicWidgetConfig(Model):
    """The only widget fields a browser ever receives (DESIGN.md "Widget ↔ backend" 1)."""

    id: UUID
    name: str
    title: str
    subtitle: str
    welcome_message: str
    first_message: str
    starter_prompts: list[str]
    placeholder: str
    avatar_url: str | None
    launcher_icon: str | None
    position: Literal["right", "left"]
    theme: WidgetTheme
    strings: dict[str, str]
    locale: str
    direction: Literal["ltr", "rtl"]
    is_demo: bool
    demo_expires_at: datetime | None

    @classmethod
    def from_widget(cls, widget: Widget) -> "PublicWidgetConfig":
        c = widget.config
        return cls(
            id=widget.id,
            name=widget.name,
            title=c.title,
            subtitle=c.subtitle,
            welcome_message=c.welcome_message,
            first_message=c.first_message,
            starter_prompts=c.starter_prompts,
            placeholder=c.placeholder,
            avatar_url=c.avatar_url,
            launcher_icon=c.launcher_icon,
            position=c.position,
            theme=c.theme,
            strings=c.strings,
            locale=c.locale,
            direction=c.direction,
            is_demo=widget.is_demo,
            demo_expires_at=widget.expires_at if widget.is_demo else None,
        )


class Client(Model):
    id: UUID
    name: str
    contact_email: str | None
    company_name: str | None
    created_at: datetime
    updated_at: datetime


class ClientCreate(Model):
    model_config = ConfigDict(extra="forbid", defer_build=True)

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    contact_email: Email | None = None
    company_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None


ChatStatus = Literal["answered", "failed"]
Feedback = Literal["up", "down"]


class ChatLog(Model):
    id: UUID
    widget_id: UUID
    user_id: str | None
    message: str
    response: str
    confidence: float | None
    feedback: Feedback | None
    status: ChatStatus
    response_time_ms: int | None
    topic: str | None
    created_at: datetime


class ChatLogCreate(Model):
    id: UUID
    widget_id: UUID
    session_id: str
    message: str
    response: str
    status: ChatStatus
    confidence: float | None = None
    topic: str | None = None
    response_time_ms: int | None = None


class AnalyticsDay(Model):
    widget_id: UUID
    date: date
    num_chats: int
    num_conversations: int
    num_failed: int
    avg_confidence: float | None
    positive_feedback: int
    negative_feedback: int
    avg_response_time_ms: float | None
    p95_response_time_ms: float | None
    most_common_questions: list[dict[str, Any]]
    top_topics: list[dict[str, Any]]
    updated_at: datetime


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


Role = Literal["admin", "client"]


class User(Model):
    id: UUID
    email: str
    role: Role
    client_id: UUID | None
    last_login_at: datetime | None
    created_at: datetime


class UserWithPassword(User):
    password_hash: SecretStr
