"""auth: admin and client-viewer login. No routes yet: a later issue adds them, and until then every path answers 404."""

from shared.startup import handler_init

with handler_init():
    from fastapi import APIRouter

    from shared.http import create_app, lambda_handler

    ROUTERS: list[APIRouter] = []
    app = create_app(title="auth", routers=ROUTERS)
    handler = lambda_handler(app)
