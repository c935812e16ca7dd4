"""Widget configuration validation: what an admin may store, and what a browser may see."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from shared.models import PublicWidgetConfig, Widget, WidgetConfig


@pytest.mark.parametrize(
    "config",
    [
        {"theme": {"primary_color": "red; background: url(x)"}},
        {"theme": {"font_family": "x; } body { display:none"}},
        {"avatar_url": "javascript:alert(1)"},
        {"allowed_origins": ["https://shop.example/path"]},
        {"position": "top"},
        {"starter_prompts": ["x"] * 9},
        {"rate_limit": {"per_session_per_minute": 0}},
    ],
)
def test_unsafe_or_invalid_config_is_rejected(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WidgetConfig.model_validate(config)


def test_origins_are_normalised() -> None:
    config = WidgetConfig.model_validate(
        {"allowed_origins": ["HTTPS://Shop.Example/", "http://localhost:3000"]}
    )
    assert config.allowed_origins == ["https://shop.example", "http://localhost:3000"]


def test_defaults_are_complete() -> None:
    config = WidgetConfig()
    assert config.rate_limit.per_session_per_minute == 20
    assert config.fallback_message and config.theme.primary_color == "#1d4ed8"


def test_public_config_carries_nothing_private() -> None:
    now = datetime.now(UTC)
    widget = Widget(
        id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        name="W",
        config=WidgetConfig(
            prompt="PRIVATE",
            personality="PRIVATE",
            fallback_message="PRIVATE",
            allowed_origins=["https://a.example"],
        ),
        webhook_url="https://PRIVATE.example/hook",
        widget_secret="PRIVATE",
        is_active=True,
        is_demo=False,
        expires_at=now,
        health_status="unknown",
        health_checked_at=None,
        consecutive_failures=0,
        created_at=now,
        updated_at=now,
    )
    public = PublicWidgetConfig.from_widget(widget).model_dump_json()
    assert "PRIVATE" not in public and "a.example" not in public
    assert '"demo_expires_at":null' in public  # only demos show an expiry
