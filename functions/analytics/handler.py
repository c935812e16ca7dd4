"""analytics: the read-only analytics API (`/v1/analytics`) for admins and client viewers."""

from shared.startup import handler_init

with handler_init():
    from shared.api import analytics
    from shared.api.app import build_app
    from shared.http import lambda_handler

    ROUTERS = [analytics.router]
    app = build_app(title="analytics", routers=ROUTERS)
    handler = lambda_handler(app)
