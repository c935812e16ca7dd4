"""widget_config: public widget configuration, visitor sessions and demo pages."""

from shared.startup import handler_init

with handler_init():
    from shared.api import demo, sessions, widget_config
    from shared.http import create_app, lambda_handler

    ROUTERS = [widget_config.router, sessions.router, demo.router]
    app = create_app(title="widget_config", routers=ROUTERS)
    handler = lambda_handler(app)
