"""Write the OpenAPI document of the platform's HTTP API, from which the front ends' TypeScript types
are generated (`make api-types`; `make test` fails when the committed types are out of date).

    python -m scripts.openapi OUT.json            every function's routes (the admin SPA's types)
    python -m scripts.openapi --public OUT.json   the visitor-facing routes only (the widget's types)

The document is built from the same routers the functions serve, without a database or network.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter

from shared.api import admin, analytics, auth
from shared.api.app import build_app
from shared.api.public import chat, demo, sessions, widget_config
from shared.settings import Settings

# The routers of each HTTP function (functions/<name>/handler.py ROUTERS), visitor-facing first.
PUBLIC_ROUTERS: list[APIRouter] = [widget_config.router, sessions.router, demo.router, chat.router]
OPERATOR_ROUTERS: list[APIRouter] = [auth.router, *admin.ROUTERS, analytics.router]


def openapi_document(*, public_only: bool = False) -> dict[str, Any]:
    """The OpenAPI document of the visitor-facing routes, or of every route."""
    # Settings only so the app can be built: nothing here connects anywhere.
    settings = Settings.model_validate(
        {"environment": "development", "database_url": "postgresql://openapi@localhost/none"}
    )
    routers = PUBLIC_ROUTERS if public_only else [*PUBLIC_ROUTERS, *OPERATOR_ROUTERS]
    app = build_app(title="chat-widget-platform", routers=routers, settings=settings)
    document: dict[str, Any] = app.openapi()
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the JSON document")
    parser.add_argument("--public", action="store_true", help="only the visitor-facing routes")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(openapi_document(public_only=args.public), indent=2, sort_keys=True)
    args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
