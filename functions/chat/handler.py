"""chat: the visitor chat relay to n8n (messages, history, feedback)."""

from shared.startup import handler_init

with handler_init():
    from shared.api import chat
    from shared.http import create_app, lambda_handler

    ROUTERS = [chat.router]
    app = create_app(title="chat", routers=ROUTERS)
    handler = lambda_handler(app)
