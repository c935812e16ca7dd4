"""auth: sign-in for admins and client viewers (login, me, password)."""

from shared.startup import handler_init

with handler_init():
    from shared.api import auth
    from shared.api.app import build_app
    from shared.http import lambda_handler

    ROUTERS = [auth.router]
    app = build_app(title="auth", routers=ROUTERS)
    handler = lambda_handler(app)
