"""Typed errors of the platform. Each maps to one HTTP status and code in `shared.http`."""

from __future__ import annotations

from typing import Any


class ConfigurationError(RuntimeError):
    """The process cannot start: a setting is missing or unsafe."""


class AppError(Exception):
    """An error a caller may see: a status, a stable machine-readable code and a clear message."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.headers = headers or {}
        self.details = details or {}  # extra members of the error object


class BadRequestError(AppError):
    status_code = 400
    code = "bad_request"


class UnauthorizedError(AppError):
    status_code = 401
    code = "unauthorized"


class ForbiddenError(AppError):
    status_code = 403
    code = "forbidden"


class NotFoundError(AppError):
    status_code = 404
    code = "not_found"


class ConflictError(AppError):
    status_code = 409
    code = "conflict"


class PayloadTooLargeError(AppError):
    status_code = 413
    code = "payload_too_large"


class UnprocessableError(AppError):
    status_code = 422
    code = "validation_error"


class RateLimitedError(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailableError(AppError):
    """A dependency is down; the caller may try again after `retry_after` seconds."""

    status_code = 503
    code = "service_unavailable"

    def __init__(self, message: str, *, retry_after: int = 5, code: str | None = None):
        super().__init__(message, code=code, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database could not be reached or did not answer in time. The message is for logs; the
    HTTP answer says only that the service is briefly unavailable."""

    code = "database_unavailable"

    def __init__(self, reason: str):
        super().__init__("The service is briefly unavailable. Please try again in a few seconds.")
        self.reason = reason


class BotUnavailableError(AppError):
    """The webhook failed: the visitor gets the widget's fallback message (502)."""

    status_code = 502
    code = "bot_unavailable"


class BotTimeoutError(BotUnavailableError):
    """The webhook did not answer in time (504)."""

    status_code = 504
    code = "bot_timeout"


class BotBusyError(BotUnavailableError):
    """Too many calls to this webhook are in flight; try again shortly (503 with Retry-After)."""

    status_code = 503
    code = "bot_busy"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None, retry_after: int = 5):
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after)})


class WidgetGoneError(NotFoundError):
    """The widget was deleted while a request about it was under way."""

    code = "widget_not_found"
