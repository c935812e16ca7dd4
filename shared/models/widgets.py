"""Widgets: the row, its config document, what admins send and what browsers may see."""

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, SecretStr, StringConstraints

from shared.models.base import FontFamily, HexColor, ImageUrl, LongText, Model, Origin, ShortText, WebhookUrl


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
    # Chat logs older than this many days are deleted (by the purge job); None keeps them forever.
    retention_days: int | None = Field(None, ge=1, le=3650)
    # Replies below this confidence count as knowledge gaps in analytics.
    low_confidence_threshold: float = Field(0.5, ge=0, le=1)


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
    last_error_type: str | None = None  # what the last failed probe or call was (WebhookErrorType)
    last_latency_ms: int | None = None  # how long the last probe took
    created_at: datetime
    updated_at: datetime

    def is_available(self, now: datetime) -> bool:
        """Whether visitors may use it: active and not past its expiry."""
        return self.is_active and (self.expires_at is None or self.expires_at > now)

    def allows_origin(self, origin: str, *, platform_origin: str) -> bool:
        """Whether a page at `origin` may use it: its `allowed_origins` (empty meaning any), and
        the platform's own pages always."""
        allowed = self.config.allowed_origins
        return not allowed or origin.lower() in allowed or origin.lower() == platform_origin


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
