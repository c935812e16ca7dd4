"""widget_config: public widget configuration (sessions and demo pages join it in later issues)."""

from shared.api import widget_config
from shared.http import create_app, lambda_handler

ROUTERS = [widget_config.router]
app = create_app(title="widget_config", routers=ROUTERS)
handler = lambda_handler(app)
