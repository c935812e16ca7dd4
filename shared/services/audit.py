"""The audit trail: every write through the admin and auth APIs is one structured log line saying
who did what to which ids. Never secrets: callers pass ids and field names, not values."""

from __future__ import annotations

from uuid import UUID

from shared.models import User
from shared.observability import logger


def audit(actor: User, action: str, **ids: UUID | str | int | list[str] | None) -> None:
    """Log `action` (e.g. "widget.create") by `actor` with the ids (and counts) it concerns."""
    logger.info(
        "audit",
        extra={
            "actor": str(actor.id),
            "actor_role": actor.role,
            "action": action,
            **{k: (str(v) if isinstance(v, UUID) else v) for k, v in ids.items()},
        },
    )
