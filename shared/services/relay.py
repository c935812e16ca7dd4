"""The n8n relay: sign and send a visitor's message to the widget's webhook, and read the reply.

The request is the body of n8n's Chat Trigger, authenticated with a JWT that n8n's "JWT Auth"
webhook credential verifies (HS256, passphrase = the widget secret) and an HMAC signature header
over the raw body. Every way the call can fail becomes a `RelayError` with a DESIGN.md error type.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from shared import tokens
from shared.models import WebhookErrorType, Widget
from shared.webhook_client import (
    DEFAULT_MAX_CONNECTIONS_PER_ORIGIN,
    BodyTooLargeError,
    Response,
    WebhookBlockedError,
    WebhookBusyError,
    WebhookClient,
    WebhookConnectError,
    WebhookHTTPError,
    WebhookTLSError,
)
from shared.webhook_url import WebhookPolicy, redact_url

MAX_REPLY_BYTES = 256 * 1024
USER_AGENT = "chat-widget-platform-relay/1"
JWT_LIFETIME = timedelta(seconds=60)
_SNIPPET = 300
_TEXT_TYPES = ("text/plain", "text/markdown")


@dataclass(frozen=True)
class Reply:
    text: str
    confidence: float | None = None
    topic: str | None = None

    def __post_init__(self) -> None:
        # Postgres text holds neither NUL nor lone surrogates (JSON's "\ud800" makes one); a workflow
        # that emits them must not cost the exchange.
        object.__setattr__(self, "text", valid_text(self.text))
        if self.topic is not None:
            object.__setattr__(self, "topic", valid_text(self.topic) or None)


def valid_text(value: str) -> str:
    """`value` as text Postgres stores: lone surrogates replaced (U+FFFD), NUL removed."""
    if not value.isascii():
        value = _LONE_SURROGATE.sub("\ufffd", value)  # json.loads pairs valid surrogates itself
    return value.replace("\x00", "")


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class PageContext:
    """What the widget tells us about the page it runs on (all optional)."""

    page_url: str | None = None
    locale: str | None = None


class RelayError(Exception):
    """The webhook did not give a usable reply; `detail` is for admins, never for visitors.
    `status` is the HTTP status when the webhook answered with one that is an error."""

    def __init__(self, error_type: WebhookErrorType, detail: str, *, status: int | None = None) -> None:
        detail = valid_text(detail)  # it is stored, and may quote the reply's bytes
        super().__init__(f"{error_type}: {detail}")
        self.error_type: WebhookErrorType = error_type
        self.detail = detail
        self.status = status


class WebhookCaller:
    """Calls webhooks through one `WebhookClient` per process, so connections to n8n stay alive
    between messages."""

    def __init__(
        self,
        *,
        max_connections: int,
        policy: WebhookPolicy,
        max_connections_per_origin: int = DEFAULT_MAX_CONNECTIONS_PER_ORIGIN,
    ) -> None:
        self._client = WebhookClient(
            max_connections=max_connections,
            max_connections_per_origin=max_connections_per_origin,
            max_response_bytes=MAX_REPLY_BYTES,
            user_agent=USER_AGENT,
            policy=policy,
        )

    async def post(
        self, url: str, *, body: bytes, headers: dict[str, str], timeout_seconds: float, pool_key: str
    ) -> Reply:
        """POST one message and parse the reply; any failure raises `RelayError`. Connections are
        kept per `pool_key` (the widget id): one widget's webhook never answers another's call."""
        return await call_webhook(
            self._client, url, body=body, headers=headers, timeout_seconds=timeout_seconds, pool_key=pool_key
        )

    async def send(
        self, url: str, *, body: bytes, headers: dict[str, str], timeout_seconds: float, pool_key: str
    ) -> Response:
        """POST and return the response whatever its status (the health probe reads the status
        itself); a call that gets no complete response raises `RelayError`."""
        return await send_webhook(
            self._client, url, body=body, headers=headers, timeout_seconds=timeout_seconds, pool_key=pool_key
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def build_request(
    widget: Widget, *, session_id: str, message_id: UUID, text: str, page: PageContext, now: datetime
) -> tuple[bytes, dict[str, str]]:
    """The raw JSON body and headers for one message (DESIGN.md "Backend ↔ n8n")."""
    config = widget.config
    body = {
        "action": "sendMessage",
        "sessionId": session_id,
        "chatInput": text,
        "metadata": {
            "widgetId": str(widget.id),
            "clientId": str(widget.client_id),
            "messageId": str(message_id),
            "pageUrl": page.page_url,
            "locale": page.locale,
            "persona": {
                "prompt": config.prompt,
                "personality": config.personality,
                "firstMessage": config.first_message,
            },
        },
    }
    raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return raw, signed_headers(widget, raw, session_id=session_id, request_id=message_id, now=now)


def signed_headers(
    widget: Widget, raw: bytes, *, session_id: str, request_id: UUID, now: datetime
) -> dict[str, str]:
    """The headers that authenticate a raw body to the widget's webhook: a JWT n8n's JWT Auth
    verifies (`jti` = `request_id`) and an HMAC signature of the body. Every call to a webhook (a
    message, a health probe) is signed here."""
    key = widget.widget_secret.get_secret_value().encode()
    issued = int(now.timestamp())
    token = tokens.sign(
        {
            "sub": str(widget.id),
            "sid": session_id,
            "jti": str(request_id),
            "iat": issued,
            "exp": issued + int(JWT_LIFETIME.total_seconds()),
        },
        key,
    )
    stamp = str(issued)
    signature = hmac.new(key, stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/json",
        "Accept": "application/json, text/plain;q=0.9, */*;q=0.1",
        "Authorization": f"Bearer {token}",
        "X-Widget-Signature": f"t={stamp},v1={signature}",
    }


async def call_webhook(
    client: WebhookClient,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout_seconds: float,
    pool_key: str,
) -> Reply:
    """POST to the webhook and parse its reply; any failure, of whatever type, raises `RelayError`.
    The timeout counts from when the call holds a connection slot (the client bounds the wait)."""
    response = await send_webhook(
        client, url, body=body, headers=headers, timeout_seconds=timeout_seconds, pool_key=pool_key
    )
    try:
        return parse_response(response.status, response.headers.get("content-type", ""), response.body)
    except RelayError:
        raise
    except Exception as exc:
        raise RelayError(
            "invalid_response", f"unreadable reply: {type(exc).__name__}: {exc}"[:_SNIPPET]
        ) from None


async def send_webhook(
    client: WebhookClient,
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout_seconds: float,
    pool_key: str,
) -> Response:
    """POST to the webhook and return its complete response, whatever the status; a call that gets
    none, for whatever reason, raises `RelayError` of its kind."""
    try:
        return await client.post(
            url, body=body, headers=headers, timeout_seconds=timeout_seconds, pool_key=pool_key
        )
    except TimeoutError:  # WebhookTimeoutError
        raise RelayError("timeout", f"no reply within {timeout_seconds:g} s") from None
    except WebhookBlockedError as exc:
        raise RelayError("blocked_address", str(exc)) from None
    except WebhookBusyError as exc:
        raise RelayError("overloaded", str(exc)) from None
    except WebhookTLSError as exc:
        raise RelayError("tls", str(exc)) from None
    except WebhookConnectError as exc:
        raise RelayError("unreachable", f"cannot connect: {exc}") from None
    except BodyTooLargeError as exc:
        raise RelayError("too_large", str(exc)) from None
    except WebhookHTTPError as exc:
        raise RelayError("invalid_response", f"malformed reply: {exc}") from None
    except Exception as exc:  # the client maps every failure; this is the second line of defence
        detail = f"{type(exc).__name__}: {exc}".replace(url, redact_url(url))[:_SNIPPET]
        raise RelayError("invalid_response", f"unexpected error: {detail}") from None


def parse_response(status: int, content_type: str, raw: bytes) -> Reply:
    """Classify the HTTP status, then read the reply in the forms n8n produces."""
    snippet = raw[:_SNIPPET].decode("utf-8", errors="replace")
    if status == 404:
        raise RelayError("not_registered", f"HTTP 404 (is the workflow active?): {snippet}", status=status)
    if status == 500 and "error in workflow" in snippet.lower():
        raise RelayError("workflow_error", f"HTTP 500: {snippet}", status=status)
    if status >= 500:
        raise RelayError("http_5xx", f"HTTP {status}: {snippet}", status=status)
    if status >= 400:
        raise RelayError("http_4xx", f"HTTP {status}: {snippet}", status=status)
    if status >= 300 or status < 200:
        raise RelayError(
            "invalid_response", f"HTTP {status} (redirects are not followed): {snippet}", status=status
        )
    return parse_reply(content_type, raw)


def parse_reply(content_type: str, raw: bytes) -> Reply:
    """A successful reply: JSON object or array, n8n's newline-delimited stream, or plain text."""
    # "utf-8-sig": a byte-order mark before the JSON is not an error (some proxies add one).
    text = raw.decode("utf-8-sig", errors="replace").strip()
    if not text:
        raise RelayError(
            "invalid_response",
            "empty reply body (with a Respond to Webhook node this usually means a node failed before it: "
            "check the workflow's executions in n8n)",
        )
    media_type = content_type.split(";")[0].strip().lower()
    if "json" in media_type or text[0] in "{[":
        try:
            data = json.loads(text)
        except RecursionError:
            raise RelayError("invalid_response", "JSON nested too deeply") from None
        except ValueError:
            streamed = _parse_stream(text)
            if streamed is not None:
                return streamed
            raise RelayError("invalid_response", f"invalid JSON: {text[:_SNIPPET]}") from None
        return _from_json(data, text)
    if media_type in _TEXT_TYPES or not media_type:
        return Reply(text=text)
    raise RelayError("invalid_response", f"unexpected content type {media_type!r}: {text[:_SNIPPET]}")


def _from_json(data: Any, text: str) -> Reply:
    if isinstance(data, list):
        if not data:
            raise RelayError("invalid_response", "empty JSON array")
        data = data[0]
    if isinstance(data, str) and data.strip():
        return Reply(text=data.strip())
    if not isinstance(data, dict):
        raise RelayError("invalid_response", f"unexpected JSON reply: {text[:_SNIPPET]}")
    if data.get("executionStarted") is True:
        raise RelayError(
            "unsupported_response",
            "n8n answered {executionStarted: true}: set the webhook to respond when the last node "
            "finishes, or with a Respond to Webhook node",
        )
    if data.get("message") == "Workflow was started":
        raise RelayError(
            "unsupported_response",
            'n8n answered "Workflow was started": the webhook responds immediately; set it to respond '
            "when the last node finishes, or with a Respond to Webhook node",
        )
    reply_text = _reply_text(data)
    if reply_text is None:
        raise RelayError("invalid_response", f"no output, text, message or response field: {text[:_SNIPPET]}")
    return Reply(
        text=reply_text, confidence=_confidence(data.get("confidence")), topic=_topic(data.get("topic"))
    )


def _reply_text(data: dict[str, Any]) -> str | None:
    message = data.get("message")
    for value in (
        data.get("output"),
        data.get("text"),
        message,
        message.get("text") if isinstance(message, dict) else None,
        data.get("response"),
    ):
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _parse_stream(text: str) -> Reply | None:
    """n8n's streaming responses: one JSON object per line, `{"type": "begin"|"item"|"end"|"error"}`."""
    chunks = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            chunk = json.loads(line)
        except (ValueError, RecursionError):
            return None
        if not isinstance(chunk, dict) or chunk.get("type") not in ("begin", "item", "end", "error"):
            return None
        chunks.append(chunk)
    errors = [c for c in chunks if c["type"] == "error"]
    if errors:
        raise RelayError("workflow_error", f"stream error: {str(errors[0].get('content', ''))[:_SNIPPET]}")
    reply = "".join(str(c.get("content", "")) for c in chunks if c["type"] == "item").strip()
    if not reply:
        raise RelayError("invalid_response", "stream carried no content")
    return Reply(text=reply)


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 1 else None


def _topic(value: Any) -> str | None:
    return value.strip()[:100] or None if isinstance(value, str) else None
