"""admin: the admin API (clients, widgets, demo widgets, conversations, webhook errors, users)."""

from shared.startup import handler_init

with handler_init():
    from shared.api.admin import ROUTERS
    from shared.api.app import build_app
    from shared.http import lambda_handler

    # relay: creating a widget or changing its webhook probes it through the relay's client.
    app = build_app(title="admin", routers=ROUTERS, relay=True)
    handler = lambda_handler(app)
