"""Typed errors of the platform, and the one mapping of HTTP statuses to error codes.

Every error answer is `{"error": {"code", "message"}}` (`shared.http`): an `AppError` gives its own
status and code; an HTTP error from the framework (404 route, 405 method...) gets its status's code
from `STATUS_CODES`.
"""

from __future__ import annotations

from typing import Any

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


def code_for_status(status: int) -> str:
    """The error code of an HTTP status (the default code of an `AppError` of that status)."""
    return STATUS_CODES.get(status, "http_error")


class ConfigurationError(RuntimeError):
    """The process cannot start: a setting is missing or unsafe."""


class AppError(Exception):
    """An error a caller may see: a status, a stable machine-readable code and a clear message."""

    status_code = 500
    code = STATUS_CODES[500]

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


class UnauthorizedError(AppError):
    status_code = 401
    code = STATUS_CODES[401]


class ForbiddenError(AppError):
    status_code = 403
    code = STATUS_CODES[403]


class NotFoundError(AppError):
    status_code = 404
    code = STATUS_CODES[404]


class ConflictError(AppError):
    """The request clashes with what is stored (a taken email, the last admin...)."""

    status_code = 409
    code = STATUS_CODES[409]


class PayloadTooLargeError(AppError):
    status_code = 413
    code = STATUS_CODES[413]


class UnprocessableError(AppError):
    status_code = 422
    code = STATUS_CODES[422]


class RateLimitedError(AppError):
    status_code = 429
    code = STATUS_CODES[429]

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailableError(AppError):
    """A dependency is down; the caller may try again after `retry_after` seconds."""

    status_code = 503
    code = STATUS_CODES[503]

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
