"""chat: the visitor chat relay to n8n (messages, history, feedback)."""

from shared.startup import handler_init

with handler_init():
    from shared.api.app import build_app
    from shared.api.public import chat
    from shared.http import lambda_handler

    ROUTERS = [chat.router]
    app = build_app(title="chat", routers=ROUTERS, relay=True)
    handler = lambda_handler(app)
