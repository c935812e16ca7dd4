"""auth: admin and client-viewer login. No routes yet: a later issue adds them, and until then every path answers 404."""

from shared.startup import handler_init

with handler_init():
    from fastapi import APIRouter

    from shared.api.app import build_app
    from shared.http import lambda_handler

    ROUTERS: list[APIRouter] = []
    app = build_app(title="auth", routers=ROUTERS)
    handler = lambda_handler(app)
