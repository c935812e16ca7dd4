"""Factories for test data, built through the same repository functions the product uses."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from shared.db import Database
from shared.models import Client, ClientCreate, Widget, WidgetConfig, WidgetCreate
from shared.repositories import clients
from shared.services.widgets import create_widget

_sequence = itertools.count(1)


async def make_client(db: Database, **fields: Any) -> Client:
    data = ClientCreate.model_validate({"name": f"Client {next(_sequence)}", **fields})
    return await db.run(clients.create_client, data=data)


async def make_widget(
    db: Database,
    *,
    client: Client | None = None,
    config: dict[str, Any] | None = None,
    webhook_url: str = "http://127.0.0.1:9/webhook",
    is_active: bool = True,
    is_demo: bool = False,
    expires_at: datetime | None = None,
    name: str | None = None,
) -> tuple[Widget, str]:
    """A widget (and its client unless given); returns the widget and its secret."""
    client = client or await make_client(db)
    data = WidgetCreate(
        client_id=client.id,
        name=name or f"Widget {next(_sequence)}",
        webhook_url=webhook_url,
        config=WidgetConfig.model_validate(config or {}),
        is_active=is_active,
        is_demo=is_demo,
        expires_at=expires_at,
    )
    return await create_widget(db, data=data)
