"""The admin API (`/v1/admin`, role admin): clients, widgets and demo widgets, conversations and
chat logs, webhook errors, users. DESIGN.md "Admin API"."""

from shared.api.admin import chat_logs, clients, users, webhook_errors, widgets

ROUTERS = [clients.router, widgets.router, chat_logs.router, webhook_errors.router, users.router]
