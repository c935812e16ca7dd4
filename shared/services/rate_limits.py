"""Per-widget rate limits on the public routes: what is counted, against which limit, and the 429.

Every public request that costs us work counts once against its visitor's address (an IPv4 address
or an IPv6 /64, see `shared.http.client_ip`); a message also counts against its session. All the
counters of one request are one upsert. Every `SWEEP_EVERY`th hit in a process also deletes up to
`SWEEP_BATCH` counters whose window has ended: a hit adds at most two keys, a sweep removes up to
ten per hit, so the table holds about the last minute's keys whatever the traffic (a purge job may
call `repositories.rate_limits.delete_expired` as well).
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

from shared.db import Database
from shared.errors import RateLimitedError
from shared.models import RateLimitConfig, Widget
from shared.repositories import rate_limits

WINDOW_SECONDS = 60
SWEEP_EVERY = 50
SWEEP_BATCH = 500

Kind = Literal["message", "session", "history", "feedback"]

_MESSAGES = {
    "message": "Too many messages. Please wait a moment before sending another.",
    "session": "Too many new conversations from your network. Please wait a moment.",
    "history": "Too many requests for this conversation. Please wait a moment.",
    "feedback": "Too much feedback at once. Please wait a moment.",
}
_hits = itertools.count(1)


def per_ip_limit(limits: RateLimitConfig, kind: Kind) -> int:
    """The widget's per-address limit for one kind of request, per window."""
    match kind:
        case "message":
            return limits.per_ip_per_minute
        case "session":
            return limits.per_ip_sessions_per_minute
        case "history":
            return limits.per_ip_reads_per_minute
        case "feedback":
            return limits.per_ip_feedback_per_minute


async def enforce(
    db: Database, *, widget: Widget, kind: Kind, session_id: str | None = None, ip: str
) -> None:
    """Count this request against the widget's per-minute limits for `kind` (its address's, and a
    message's session's too); raises `RateLimitedError` (429, Retry-After) if any is exceeded."""
    limits = widget.config.rate_limit
    allowed = {f"{kind}:ip:{widget.id}:{ip}": per_ip_limit(limits, kind)}
    if kind == "message" and session_id is not None:
        allowed[f"{kind}:session:{widget.id}:{session_id}"] = limits.per_session_per_minute
    counts = await db.run(rate_limits.hit, keys=list(allowed), window_seconds=WINDOW_SECONDS)
    if next(_hits) % SWEEP_EVERY == 0:
        await db.run(rate_limits.delete_expired, limit=SWEEP_BATCH)
    over = [remaining for key, (count, remaining) in counts.items() if count > allowed[key]]
    if over:
        raise RateLimitedError(_MESSAGES[kind], retry_after=max(1, math.ceil(max(over))))
