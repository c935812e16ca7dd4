"""widget_config: public widget configuration and visitor sessions (demo pages join in the widget issue)."""

from shared.api import sessions, widget_config
from shared.http import create_app, lambda_handler

ROUTERS = [widget_config.router, sessions.router]
app = create_app(title="widget_config", routers=ROUTERS)
handler = lambda_handler(app)
