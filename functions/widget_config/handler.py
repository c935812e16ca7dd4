"""widget_config: public widget configuration, visitor sessions and demo pages."""

from shared.startup import handler_init

with handler_init():
    from shared.api.app import build_app
    from shared.api.public import demo, sessions, widget_config
    from shared.http import lambda_handler

    ROUTERS = [widget_config.router, sessions.router, demo.router]
    app = build_app(title="widget_config", routers=ROUTERS)
    handler = lambda_handler(app)
