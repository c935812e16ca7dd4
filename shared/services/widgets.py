"""Creating widgets: the secret is generated here, server-side, and nowhere else."""

from __future__ import annotations

import secrets

from shared.db import Database
from shared.models import Widget, WidgetCreate
from shared.repositories import widgets


def new_widget_secret() -> str:
    """32 random bytes, URL-safe: the key n8n verifies our JWTs and signatures with."""
    return secrets.token_urlsafe(32)


async def create_widget(db: Database, *, data: WidgetCreate) -> tuple[Widget, str]:
    """Create a widget with a fresh secret; returns the widget and the secret (shown once)."""
    secret = new_widget_secret()
    widget = await db.run(widgets.create_widget, data=data, widget_secret=secret)
    return widget, secret
