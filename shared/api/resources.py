"""What every function's routes share: one frozen `Resources` per process, built by `build_app`
and reached by routes through one dependency (`ResourcesDep`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from shared.db import Database
from shared.services.widget_cache import WidgetCache
from shared.settings import Settings

if TYPE_CHECKING:
    from shared.services.relay import WebhookCaller


@dataclass(frozen=True)
class Resources:
    """Settings, database, widget cache and (for the function that relays) the webhook caller.
    Nothing here touches the network until first used."""

    settings: Settings
    db: Database
    widgets: WidgetCache
    webhooks: WebhookCaller | None = None
    relay_on_first_use: bool = False

    @classmethod
    def create(
        cls, settings: Settings, *, relay: bool = False, relay_on_first_use: bool = False
    ) -> Resources:
        """Resources for `settings`; `relay` adds the webhook caller (only the chat function and the
        jobs that probe webhooks pay for importing it); `relay_on_first_use` adds it when first
        used instead (the admin function: only a few of its routes call webhooks)."""
        assert settings.database_url is not None
        db = Database(
            settings.database_url.get_secret_value(),
            statement_timeout_ms=settings.db_statement_timeout_ms,
            pool_size=settings.db_pool_size,
            operation_timeout=settings.db_operation_timeout_seconds,
            prepared_statements=settings.db_prepared_statements,
        )
        webhooks = _webhook_caller(settings) if relay else None
        cache = WidgetCache(ttl_seconds=settings.widget_cache_seconds)
        return cls(settings, db, cache, webhooks, relay_on_first_use and not relay)

    @property
    def relay(self) -> WebhookCaller:
        """The webhook caller (built with `relay=True`, or now with `relay_on_first_use=True`)."""
        if self.webhooks is None and self.relay_on_first_use:
            object.__setattr__(self, "webhooks", _webhook_caller(self.settings))  # once, then kept
        assert self.webhooks is not None, "this app was built without the relay"
        return self.webhooks

    async def aclose(self) -> None:
        """Close idle webhook and database connections (the dev runner and tests on shutdown)."""
        if self.webhooks is not None:
            await self.webhooks.aclose()
        await self.db.close()


def _webhook_caller(settings: Settings) -> WebhookCaller:
    from shared.services.relay import WebhookCaller

    return WebhookCaller(
        max_connections=settings.webhook_max_connections,
        max_connections_per_origin=settings.webhook_max_connections_per_origin,
        policy=settings.webhook_policy,
    )


def resources_of(request: Request) -> Resources:
    """The app's resources (made once per process by `build_app`)."""
    resources: Resources = request.app.state.resources
    return resources


# `async def`: FastAPI runs plain `def` dependencies in its thread pool, a hop that cost ~0.15 ms
# per request (docs/benchmarks.md).
async def _resources(request: Request) -> Resources:
    return resources_of(request)


ResourcesDep = Annotated[Resources, Depends(_resources)]
