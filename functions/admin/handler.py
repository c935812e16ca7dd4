"""admin: the admin API (clients, widgets, demo widgets, conversations, webhook errors, users)."""

from shared.startup import handler_init

with handler_init():
    from shared.api.admin import ROUTERS
    from shared.api.app import build_app
    from shared.http import lambda_handler

    # Creating a widget, changing its webhook or testing it probes it through the relay's client,
    # made (and imported) when first needed: the other admin requests never call a webhook.
    app = build_app(title="admin", routers=ROUTERS, relay_on_first_use=True)
    handler = lambda_handler(app)
