"""Seed a development database: an admin (made by `scripts/create_user.py`, its generated password
printed once), a demo client and a demo widget.

    python -m scripts.seed [--database-url URL] [--base-url http://127.0.0.1:8000]

Safe to re-run: what exists is kept and reported.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from uuid import UUID

from scripts.create_user import add_user
from scripts.localdb import database_url
from shared.db import Database
from shared.errors import ConflictError
from shared.models import ClientCreate, WidgetConfig, WidgetCreate
from shared.repositories import clients, users, widgets
from shared.services.widgets import create_widget

ADMIN_EMAIL = "admin@example.com"
DEMO_CLIENT = "Demo Company"
DEMO_WIDGET = "Demo widget"
SAMPLE_BOT_PATH = "/dev/sample-bot"


@dataclass(frozen=True)
class SeedResult:
    widget_id: UUID
    admin_password: str | None  # None when the admin already existed


def demo_widget_config() -> WidgetConfig:
    return WidgetConfig(
        title="Demo Company",
        subtitle="We usually answer in seconds",
        welcome_message="Welcome! Ask us anything about our opening hours, prices or delivery.",
        first_message="Hi! I'm the Demo Company assistant. How can I help?",
        starter_prompts=["What are your opening hours?", "How much does delivery cost?", "Talk to a human"],
        prompt="You are the friendly assistant of Demo Company.",
        personality="Warm, brief, helpful.",
    )


async def seed(url: str, *, base_url: str) -> SeedResult:
    """Create what is missing and return the demo widget's id (and the admin password if new)."""
    db = Database(url)
    try:
        admin_password = None
        if await db.run(users.get_user_by_email, email=ADMIN_EMAIL) is None:
            try:
                _, admin_password = await add_user(db, email=ADMIN_EMAIL, role="admin")
            except ConflictError:  # another seed made it meanwhile
                admin_password = None
        found = [c for c in await db.run(clients.list_clients, search=DEMO_CLIENT) if c.name == DEMO_CLIENT]
        client = (
            found[0]
            if found
            else await db.run(
                clients.create_client, data=ClientCreate(name=DEMO_CLIENT, contact_email="owner@demo.example")
            )
        )
        existing = [
            w for w in await db.run(widgets.list_widgets, client_id=client.id) if w.name == DEMO_WIDGET
        ]
        sample_bot_url = base_url.rstrip("/") + SAMPLE_BOT_PATH
        if existing:
            widget = existing[0]
            if widget.webhook_url.endswith(SAMPLE_BOT_PATH) and widget.webhook_url != sample_bot_url:
                # The dev runner moved to another address: keep the demo widget talking to it.
                await db.run(widgets.set_webhook_url, widget_id=widget.id, webhook_url=sample_bot_url)
        else:
            widget, _ = await create_widget(
                db,
                data=WidgetCreate(
                    client_id=client.id,
                    name=DEMO_WIDGET,
                    webhook_url=base_url.rstrip("/") + SAMPLE_BOT_PATH,
                    config=demo_widget_config(),
                ),
            )
        return SeedResult(widget_id=widget.id, admin_password=admin_password)
    finally:
        await db.close()


def report(result: SeedResult, *, base_url: str) -> str:
    """What a new user needs to know, printed by the dev runner."""
    widget = f"{base_url}/v1/widgets/{result.widget_id}"
    lines = [
        f"demo widget: {result.widget_id}",
        f"  curl {widget}/config",
        f"  TOKEN=$(curl -s -X POST {widget}/sessions | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"token\"])')",
        f"  curl -s -X POST {widget}/messages -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' "
        '-d \'{"message": "What are your opening hours?"}\'',
    ]
    if result.admin_password:
        lines.append(f"admin login: {ADMIN_EMAIL} / {result.admin_password}   (shown once; keep it)")
    else:
        lines.append(f"admin login: {ADMIN_EMAIL} (password was shown when it was created)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    result = asyncio.run(seed(args.database_url or database_url(), base_url=args.base_url))
    print(report(result, base_url=args.base_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
