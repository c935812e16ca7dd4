"""Widgets as the admin API manages them: the secret is generated here, server-side, and nowhere
else; webhook URLs are checked against the deployment's policy (also on the addresses the host
resolves to) and probed when saved; deletes count everything that goes with a widget."""

from __future__ import annotations

import asyncio
import html
import ipaddress
import secrets
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit
from uuid import UUID

import psycopg
from pydantic import ValidationError

from shared.db import Database
from shared.errors import ConflictError, NotFoundError, UnprocessableError
from shared.models import HealthStatus, Widget, WidgetCreate
from shared.models.admin import DeletedCounts
from shared.models.admin.widgets import (
    WIDGET_STRINGS,
    DemoWidgetCreateRequest,
    WebhookTestResult,
    WidgetConfigInput,
    WidgetCreateRequest,
    WidgetEmbed,
    WidgetUpdate,
)
from shared.repositories import widgets
from shared.repositories.widgets import DeletedWidgets
from shared.services import webhook_health
from shared.services.widget_cache import WidgetCache
from shared.webhook_url import BlockedWebhookError, IPAddress, WebhookPolicy, literal_address

if TYPE_CHECKING:
    from shared.services.relay import WebhookCaller

# Resolving the webhook's host when it is saved: a short bound (a slow or failing DNS is reported
# by the probe that follows; only an address the policy refuses stops the save).
RESOLVE_TIMEOUT_SECONDS = 2.0


def new_widget_secret() -> str:
    """32 random bytes, URL-safe: the key n8n verifies our JWTs and signatures with."""
    return secrets.token_urlsafe(32)


async def create_widget(db: Database, *, data: WidgetCreate) -> tuple[Widget, str]:
    """Create a widget with a fresh secret; returns the widget and the secret (shown once).
    404 if the client does not exist, 409 if it already has a widget of that name."""
    secret = new_widget_secret()
    try:
        widget = await db.run(widgets.create_widget, data=data, widget_secret=secret)
    except psycopg.errors.ForeignKeyViolation:
        raise NotFoundError(f"There is no client {data.client_id}.", code="client_not_found") from None
    except psycopg.errors.UniqueViolation:
        raise _name_taken(data.name) from None
    return widget, secret


async def list_widgets(
    db: Database,
    *,
    client_id: UUID | None,
    is_demo: bool | None,
    health: HealthStatus | None,
    is_active: bool | None,
    search: str | None,
    limit: int,
    offset: int,
) -> tuple[list[tuple[Any, ...]], int]:
    """A page of widgets by client, then name, matching the filters, and how many match in all
    (rows of the list's fields: `repositories.widgets.list_widgets_page`)."""
    return await db.run(
        widgets.list_widgets_page,
        client_id=client_id,
        is_demo=is_demo,
        health=health,
        is_active=is_active,
        search=search,
        limit=limit,
        offset=offset,
    )


async def get_widget(db: Database, *, widget_id: UUID) -> Widget:
    """One widget; 404 if there is none."""
    widget = await db.run(widgets.get_widget, widget_id=widget_id)
    if widget is None:
        raise _not_found(widget_id)
    return widget


async def check_webhook_url(policy: WebhookPolicy, url: str) -> None:
    """Refuse (422 at `webhook_url`) a URL this deployment never calls, or whose host resolves to
    an address it never connects to. A name that does not resolve is not refused here: the probe
    reports it."""
    try:
        policy.check_url(url)
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        if literal_address(host) is None:
            for address in await _resolve(
                host, parts.port or (443 if parts.scheme.lower() == "https" else 80)
            ):
                policy.check_address(address)
    except BlockedWebhookError as exc:
        raise _field_error("webhook_url", str(exc), "webhook_url_refused") from None


async def add_widget(
    db: Database,
    webhooks: WebhookCaller,
    cache: WidgetCache,
    *,
    data: WidgetCreateRequest,
    policy: WebhookPolicy,
    probe_timeout_seconds: float,
) -> tuple[Widget, str, WebhookTestResult]:
    """Create a widget (its webhook checked against the policy first), then probe the webhook and
    record the result: an unreachable webhook is saved, flagged failing and logged in
    `webhook_errors`. Returns the widget, its secret (shown once) and what the probe saw."""
    return await _add(db, webhooks, cache, WidgetCreate(**dict(data)), policy, probe_timeout_seconds)


async def add_demo_widget(
    db: Database,
    webhooks: WebhookCaller,
    cache: WidgetCache,
    *,
    data: DemoWidgetCreateRequest,
    policy: WebhookPolicy,
    probe_timeout_seconds: float,
    now: datetime,
) -> tuple[Widget, str, WebhookTestResult]:
    """Create a demo widget that expires `ttl_hours` after `now`, checked and probed as any new
    widget is."""
    widget = WidgetCreate(
        client_id=data.client_id,
        name=data.name,
        webhook_url=data.webhook_url,
        config=data.config,
        is_demo=True,
        expires_at=now + timedelta(hours=data.ttl_hours),
    )
    return await _add(db, webhooks, cache, widget, policy, probe_timeout_seconds)


async def update_widget(
    db: Database,
    webhooks: WebhookCaller,
    cache: WidgetCache,
    *,
    widget_id: UUID,
    data: WidgetUpdate,
    policy: WebhookPolicy,
    probe_timeout_seconds: float,
    now: datetime,
) -> tuple[Widget, list[str], WebhookTestResult | None]:
    """Apply a change (config merged key by key, then validated as a whole); a new webhook URL is
    checked against the policy, then probed and the result recorded. Returns the widget, the names
    of the fields given (config keys as `config.<key>`), and the probe's result when the webhook
    changed. 404 unknown widget, 409 name taken, 422 invalid change."""
    given = data.model_dump(exclude_unset=True)
    if "webhook_url" in given:
        await check_webhook_url(policy, given["webhook_url"])

    def change(current: Widget) -> dict[str, Any]:
        values = {k: v for k, v in given.items() if k in ("name", "webhook_url", "is_active", "expires_at")}
        if "config" in given:
            values["config"] = _merged_config(current, given["config"])
        if "ttl_hours" in given:
            if not current.is_demo:
                raise _field_error("ttl_hours", "only a demo widget has a ttl; set expires_at instead")
            values["expires_at"] = now + timedelta(hours=given["ttl_hours"])
        if current.is_demo and "expires_at" in values and values["expires_at"] is None:
            raise _field_error("expires_at", "a demo widget always expires; give a time (or ttl_hours)")
        return values

    try:
        changed = await db.run(widgets.update_widget, widget_id=widget_id, change=change)
    except psycopg.errors.UniqueViolation:
        raise _name_taken(str(given.get("name"))) from None
    if changed is None:
        raise _not_found(widget_id)
    cache.forget(widget_id)
    before, widget = changed
    fields = sorted({*given.keys() - {"config"}, *(f"config.{key}" for key in given.get("config", {}))})
    if widget.webhook_url == before.webhook_url:
        return widget, fields, None
    widget, result = await _probe_and_record(db, webhooks, cache, widget, probe_timeout_seconds)
    return widget, fields, result


async def rotate_secret(db: Database, cache: WidgetCache, *, widget_id: UUID) -> tuple[Widget, str]:
    """Give the widget a new secret (the old one stops working at once); returns the widget and the
    secret, shown this once. 404 if there is no such widget."""
    secret = new_widget_secret()
    widget = await db.run(widgets.set_widget_secret, widget_id=widget_id, widget_secret=secret)
    if widget is None:
        raise _not_found(widget_id)
    cache.forget(widget_id)
    return widget, secret


async def probe_widget(
    db: Database,
    webhooks: WebhookCaller,
    cache: WidgetCache,
    *,
    widget_id: UUID,
    probe_timeout_seconds: float,
) -> tuple[Widget, WebhookTestResult]:
    """Probe the widget's webhook now and record the result, as the hourly check does."""
    widget = await get_widget(db, widget_id=widget_id)
    return await _probe_and_record(db, webhooks, cache, widget, probe_timeout_seconds)


async def delete_widget(db: Database, cache: WidgetCache, *, widget_id: UUID) -> DeletedCounts:
    """Delete a widget with its chat logs, analytics and webhook errors, in one transaction;
    answers how many rows of each went. 404 if there is no such widget."""
    deleted = await db.run(widgets.delete_widgets, ids=[widget_id])
    if not deleted.ids:
        raise _not_found(widget_id)
    return _forget_deleted(cache, deleted)


async def bulk_delete(
    db: Database, cache: WidgetCache, *, ids: list[UUID]
) -> tuple[DeletedCounts, list[UUID]]:
    """Delete these widgets and everything below them in one transaction; returns the counts and
    the ids that did not exist (reported, not an error)."""
    wanted = list(dict.fromkeys(ids))
    deleted = await db.run(widgets.delete_widgets, ids=wanted)
    gone = set(deleted.ids)
    return _forget_deleted(cache, deleted), [i for i in wanted if i not in gone]


async def purge_demo_widgets(
    db: Database, cache: WidgetCache, *, expired_only: bool, now: datetime
) -> DeletedCounts:
    """Delete the expired demo widgets (or every demo widget) with everything below them."""
    deleted = await db.run(widgets.delete_demo_widgets, expired_only=expired_only, now=now)
    return _forget_deleted(cache, deleted)


def embed(widget: Widget, *, widget_js_base: str, api_base: str) -> WidgetEmbed:
    """The one-tag snippet: `widget.js` from `widget_js_base`, with `data-api-base` only when the
    API is served from another origin (the widget defaults to its script's own origin)."""
    js_url = f"{widget_js_base.rstrip('/')}/widget.js"
    api = api_base.rstrip("/")
    attributes = [f'src="{html.escape(js_url)}"', f'data-widget-id="{widget.id}"']
    if _origin(api) != _origin(js_url):
        attributes.append(f'data-api-base="{html.escape(api)}"')
    return WidgetEmbed(
        snippet=f"<script {' '.join(attributes)} defer></script>", widget_js_url=js_url, api_base=api
    )


async def _add(
    db: Database,
    webhooks: WebhookCaller,
    cache: WidgetCache,
    data: WidgetCreate,
    policy: WebhookPolicy,
    probe_timeout_seconds: float,
) -> tuple[Widget, str, WebhookTestResult]:
    await check_webhook_url(policy, data.webhook_url)
    widget, secret = await create_widget(db, data=data)
    cache.forget(widget.id)
    widget, result = await _probe_and_record(db, webhooks, cache, widget, probe_timeout_seconds)
    return widget, secret, result


async def _probe_and_record(
    db: Database, webhooks: WebhookCaller, cache: WidgetCache, widget: Widget, timeout_seconds: float
) -> tuple[Widget, WebhookTestResult]:
    result = await webhook_health.probe(webhooks, widget, timeout_seconds)
    recorded = await webhook_health.record_probe(db, widget=widget, result=result)
    cache.forget(widget.id)
    if recorded is None:  # deleted, or its webhook changed, meanwhile
        recorded = await get_widget(db, widget_id=widget.id)
    test = WebhookTestResult(
        ok=result.ok,
        error_type=result.error_type,
        status=result.status,
        detail=result.detail,
        latency_ms=result.latency_ms,
    )
    return recorded, test


def _merged_config(current: Widget, patch: dict[str, Any]) -> WidgetConfigInput:
    """The stored config with `patch` merged in (nested objects too; null removes a key, which then
    takes its default), validated as a whole with the admin API's strict rules."""
    base = current.config.model_dump(mode="json")
    # Strings the widget does not read (stored before the admin API checked them) are dropped
    # rather than making every later change fail.
    base["strings"] = {k: v for k, v in base.get("strings", {}).items() if k in WIDGET_STRINGS}
    try:
        return WidgetConfigInput.model_validate(_merge(base, patch))
    except ValidationError as exc:
        raise _validation_error(exc, prefix=("body", "config")) from None


def _merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


async def _resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to; none when it does not resolve in time."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return []
    found = []
    for *_, sockaddr in infos:
        try:
            found.append(ipaddress.ip_address(str(sockaddr[0]).partition("%")[0]))
        except ValueError:
            continue
    return found


def _forget_deleted(cache: WidgetCache, deleted: DeletedWidgets) -> DeletedCounts:
    for widget_id in deleted.ids:
        cache.forget(widget_id)
    return DeletedCounts(
        widgets=len(deleted.ids),
        chat_logs=deleted.chat_logs,
        analytics=deleted.analytics,
        webhook_errors=deleted.webhook_errors,
    )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _not_found(widget_id: UUID) -> NotFoundError:
    return NotFoundError(f"There is no widget {widget_id}.", code="widget_not_found")


def _name_taken(name: str) -> ConflictError:
    return ConflictError(f"This client already has a widget named {name!r}.", code="widget_name_taken")


def _field_error(field: str, message: str, kind: str = "value_error") -> UnprocessableError:
    """A 422 shaped like a request validation error, at `body.<field>`."""
    return UnprocessableError(
        f"body.{field}: {message}",
        details={"details": [{"loc": ["body", field], "msg": message, "type": kind}]},
    )


def _validation_error(exc: ValidationError, *, prefix: tuple[str, ...]) -> UnprocessableError:
    details = [
        {"loc": [*prefix, *(str(p) for p in e["loc"])], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    first = details[0]
    return UnprocessableError(f"{'.'.join(first['loc'])}: {first['msg']}", details={"details": details})
