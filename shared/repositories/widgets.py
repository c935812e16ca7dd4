"""Widgets: configuration, webhook and secret of each embeddable chat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, NamedTuple
from uuid import UUID

from psycopg.types.json import Jsonb

from shared.db import Conn
from shared.models import HealthStatus, WebhookErrorType, Widget, WidgetConfig, WidgetCreate
from shared.repositories.sql import fetch_page, page_with_total
from shared.repositories.webhook_errors import MAX_MESSAGE_LENGTH

_COLUMNS = (
    "id, client_id, name, config, webhook_url, widget_secret, is_active, is_demo, expires_at, "
    "health_status, health_checked_at, consecutive_failures, last_error_type, last_latency_ms, "
    "created_at, updated_at"
)


async def create_widget(conn: Conn, *, data: WidgetCreate, widget_secret: str) -> Widget:
    """Insert a widget with its (server-generated) secret and return it."""
    cur = await conn.execute(
        "INSERT INTO widgets (client_id, name, config, webhook_url, widget_secret, is_active, is_demo, expires_at) "
        "VALUES (%(client_id)s, %(name)s, %(config)s, %(webhook_url)s, %(widget_secret)s, %(is_active)s, "
        f"        %(is_demo)s, %(expires_at)s) RETURNING {_COLUMNS}",
        {
            **data.model_dump(exclude={"config"}),
            "config": Jsonb(data.config.model_dump(mode="json")),
            "widget_secret": widget_secret,
        },
    )
    row = await cur.fetchone()
    assert row is not None
    return Widget.model_validate(row)


async def get_widget(conn: Conn, *, widget_id: UUID) -> Widget | None:
    """One widget by id (active or not), or None."""
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM widgets WHERE id = %(id)s", {"id": widget_id})
    row = await cur.fetchone()
    return Widget.model_validate(row) if row else None


async def list_widgets(
    conn: Conn, *, client_id: UUID | None = None, is_demo: bool | None = None
) -> list[Widget]:
    """Widgets, optionally of one client and/or only demo (or only non-demo) widgets."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM widgets "
        "WHERE (%(client_id)s::uuid IS NULL OR client_id = %(client_id)s) "
        "  AND (%(is_demo)s::boolean IS NULL OR is_demo = %(is_demo)s) "
        "ORDER BY created_at, id",
        {"client_id": client_id, "is_demo": is_demo},
    )
    return [Widget.model_validate(row) for row in await cur.fetchall()]


async def delete_widget(conn: Conn, *, widget_id: UUID) -> bool:
    """Delete a widget and, by cascade, its logs, analytics and errors. False if it did not exist."""
    cur = await conn.execute("DELETE FROM widgets WHERE id = %(id)s", {"id": widget_id})
    return cur.rowcount == 1


async def set_webhook_url(conn: Conn, *, widget_id: UUID, webhook_url: str) -> bool:
    """Point a widget at another webhook. False if it does not exist."""
    cur = await conn.execute(
        "UPDATE widgets SET webhook_url = %(url)s WHERE id = %(id)s", {"url": webhook_url, "id": widget_id}
    )
    return cur.rowcount == 1


# The admin list's fields (`models.admin.widgets.WidgetSummary`), in its order: no config (parsing 50
# configs was most of a page's cost), the secret's last 4 characters where the masked secret goes,
# and a null where the demo URL goes (the model makes it from the public URL).
_LIST_COLUMNS = (
    "w.id, w.client_id, w.name, w.webhook_url, right(w.widget_secret, 4), w.is_active, w.is_demo, "
    "w.expires_at, NULL::text, w.health_status, w.health_checked_at, w.consecutive_failures, "
    "w.last_error_type, w.last_latency_ms, w.created_at, w.updated_at"
)
# Each filter of the list, as the condition it adds. Only the filters given are in the statement:
# PostgreSQL plans a shorter statement (unfiltered: no WHERE at all).
_LIST_FILTERS = {
    "client_id": "w.client_id = %(client_id)s",
    "is_demo": "w.is_demo = %(is_demo)s",
    "health": "w.health_status = %(health)s",
    "is_active": "w.is_active = %(is_active)s",
    # strpos on the stored lower-case name: a quarter of ILIKE's cost per row, no pattern to escape.
    "search": "strpos(w.name_key, %(search)s) > 0",
}


# A search of three characters or more, of names only, reads the entries of its rarest
# three-character piece (`widget_name_trigrams`, 0020), in the list's order, instead of testing every
# name: every name containing the search holds that piece. Its count too (`widget_name_search_count`,
# which tests every name instead when most names hold that piece).
_PIECE_LENGTH = 3
_BY_NAME_PIECES = (
    "SELECT p.widget_id AS id FROM widget_name_trigrams p "
    "WHERE p.trigram = widget_name_piece(%(search)s) AND strpos(p.name_key, %(search)s) > 0 "
    "ORDER BY p.client_id, p.name_key, p.widget_id",
    "SELECT widget_name_search_count(%(search)s)",
)


async def list_widgets_page(
    conn: Conn,
    *,
    client_id: UUID | None = None,
    is_demo: bool | None = None,
    health: HealthStatus | None = None,
    is_active: bool | None = None,
    search: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Any, ...]], int]:
    """A page of widgets by client, then name, matching every filter given (`search`: the name
    contains it, case-insensitive), and how many match in all. Rows are tuples of the admin list's
    fields, in `WidgetSummary`'s order (see `_LIST_COLUMNS`).

    One statement, one round trip (`sql.page_with_total`). The page's ids come from an index in the
    list's order: the (client_id, name_key, id) index, a search testing the names in it (no sort of
    every match, which `count(*) OVER ()` would need, and no widget row read for a name that does
    not match), or, for a search of names only, the name pieces' index (0020, above).
    Then the page's rows by id."""
    params = {
        "client_id": client_id,
        "is_demo": is_demo,
        "health": health,
        "is_active": is_active,
        "search": search.lower() if search else None,
        "limit": limit,
        "offset": offset,
    }
    conditions = [condition for name, condition in _LIST_FILTERS.items() if params[name] is not None]
    statement = page_with_total(
        table="widgets",
        alias="w",
        conditions=conditions,
        order="w.client_id, w.name_key, w.id",
        columns=_LIST_COLUMNS,
        matches=_by_name_pieces(params),
    )
    return await fetch_page(conn, statement, params)


def _by_name_pieces(params: dict[str, Any]) -> tuple[str, str] | None:
    """The ids and count of a search's matches from the name pieces' index, when it can find them:
    a search of at least one piece, and no other filter (a client's few widgets are read from
    the client's part of the list's index)."""
    search = params["search"]
    if search is None or len(search) < _PIECE_LENGTH:
        return None
    if any(params[name] is not None for name in _LIST_FILTERS if name != "search"):
        return None
    return _BY_NAME_PIECES


# What a change may set: the new values of these columns, computed from the locked row.
WidgetChange = Callable[[Widget], dict[str, Any]]
_CHANGEABLE = ("name", "webhook_url", "config", "is_active", "expires_at")


async def update_widget(conn: Conn, *, widget_id: UUID, change: WidgetChange) -> tuple[Widget, Widget] | None:
    """Change a widget under a row lock: `change(current)` returns the new values of some of
    `name`, `webhook_url`, `config` (a `WidgetConfig`), `is_active`, `expires_at`; whatever it
    raises aborts the change. A new webhook URL starts with unknown health. Returns the widget
    before and after, or None if it does not exist."""
    async with conn.transaction():
        cur = await conn.execute(
            f"SELECT {_COLUMNS} FROM widgets WHERE id = %(id)s FOR UPDATE", {"id": widget_id}
        )
        row = await cur.fetchone()
        if row is None:
            return None
        before = Widget.model_validate(row)
        values = {column: getattr(before, column) for column in _CHANGEABLE}
        changes = change(before)
        unknown = set(changes) - set(_CHANGEABLE)
        if unknown:
            raise ValueError(f"not a changeable widget column: {sorted(unknown)}")
        values.update(changes)
        config: WidgetConfig = values["config"]
        cur = await conn.execute(
            "UPDATE widgets SET name = %(name)s, webhook_url = %(webhook_url)s, config = %(config)s, "
            "  is_active = %(is_active)s, expires_at = %(expires_at)s, "
            "  health_status = CASE WHEN %(new_url)s THEN 'unknown' ELSE health_status END, "
            "  health_checked_at = CASE WHEN %(new_url)s THEN NULL ELSE health_checked_at END, "
            "  consecutive_failures = CASE WHEN %(new_url)s THEN 0 ELSE consecutive_failures END, "
            "  last_error_type = CASE WHEN %(new_url)s THEN NULL ELSE last_error_type END, "
            "  last_latency_ms = CASE WHEN %(new_url)s THEN NULL ELSE last_latency_ms END "
            f"WHERE id = %(id)s RETURNING {_COLUMNS}",
            {
                **values,
                "config": Jsonb(config.model_dump(mode="json")),
                "new_url": values["webhook_url"] != before.webhook_url,
                "id": widget_id,
            },
        )
        row = await cur.fetchone()
        assert row is not None
        return before, Widget.model_validate(row)


async def set_widget_secret(conn: Conn, *, widget_id: UUID, widget_secret: str) -> Widget | None:
    """Replace a widget's secret (the old one stops working at once). None if it does not exist."""
    cur = await conn.execute(
        f"UPDATE widgets SET widget_secret = %(secret)s WHERE id = %(id)s RETURNING {_COLUMNS}",
        {"secret": widget_secret, "id": widget_id},
    )
    row = await cur.fetchone()
    return Widget.model_validate(row) if row else None


async def record_probe(
    conn: Conn,
    *,
    widget_id: UUID,
    webhook_url: str,
    checked_at: datetime,
    latency_ms: int,
    error_type: WebhookErrorType | None,
    error_message: str | None,
) -> Widget | None:
    """Store a health probe of `webhook_url` on the widget (healthy when `error_type` is None, else
    failing with one more failure in a row) and, when it failed, one `webhook_errors` row; one
    statement, so both or neither. None, and nothing stored, if the widget is gone or its webhook
    URL changed since the probe began."""
    cur = await conn.execute(
        "WITH probed AS ("
        "  UPDATE widgets SET health_checked_at = %(checked_at)s, last_latency_ms = %(latency_ms)s, "
        "    last_error_type = %(error_type)s, "
        "    health_status = CASE WHEN %(error_type)s::text IS NULL THEN 'healthy' ELSE 'failing' END, "
        "    consecutive_failures = CASE WHEN %(error_type)s::text IS NULL THEN 0 "
        "                                ELSE consecutive_failures + 1 END "
        "  WHERE id = %(id)s AND webhook_url = %(webhook_url)s "
        f"  RETURNING {_COLUMNS}"
        "), logged AS ("
        "  INSERT INTO webhook_errors (widget_id, error_type, error_message, occurred_at) "
        "  SELECT id, %(error_type)s, %(error_message)s, %(checked_at)s FROM probed "
        "  WHERE %(error_type)s::text IS NOT NULL"
        f") SELECT {_COLUMNS} FROM probed",
        {
            "id": widget_id,
            "webhook_url": webhook_url,
            "checked_at": checked_at,
            "latency_ms": latency_ms,
            "error_type": error_type,
            "error_message": (error_message or "")[:MAX_MESSAGE_LENGTH],
        },
    )
    row = await cur.fetchone()
    return Widget.model_validate(row) if row else None


class DeletedWidgets(NamedTuple):
    """The widgets a delete removed, and how many rows of each table went with them."""

    ids: list[UUID]
    chat_logs: int
    analytics: int
    webhook_errors: int


async def delete_widgets(conn: Conn, *, ids: list[UUID]) -> DeletedWidgets:
    """Delete these widgets (ids that do not exist are skipped) with their chat logs, analytics and
    webhook errors, in one transaction, counting what goes."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id FROM widgets WHERE id = ANY(%(ids)s::uuid[]) ORDER BY id FOR UPDATE", {"ids": ids}
        )
        return await _delete_locked(conn, [row["id"] for row in await cur.fetchall()])


async def delete_demo_widgets(conn: Conn, *, expired_only: bool, now: datetime) -> DeletedWidgets:
    """Delete the demo widgets that expired by `now` (or every demo widget) with everything below
    them, in one transaction, counting what goes."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id FROM widgets WHERE is_demo "
            "  AND (NOT %(expired_only)s OR expires_at <= %(now)s) ORDER BY id FOR UPDATE",
            {"expired_only": expired_only, "now": now},
        )
        return await _delete_locked(conn, [row["id"] for row in await cur.fetchall()])


async def _delete_locked(conn: Conn, ids: list[UUID]) -> DeletedWidgets:
    # The widgets are locked (FOR UPDATE), so no chat log or error can be added to them meanwhile
    # (an insert's foreign key check waits for the lock): the counts are exactly what goes.
    if not ids:
        return DeletedWidgets([], 0, 0, 0)
    cur = await conn.execute(
        "SELECT (SELECT count(*) FROM chat_logs WHERE widget_id = ANY(%(ids)s::uuid[])) AS chat_logs, "
        "       (SELECT count(*) FROM analytics WHERE widget_id = ANY(%(ids)s::uuid[])) AS analytics, "
        "       (SELECT count(*) FROM webhook_errors WHERE widget_id = ANY(%(ids)s::uuid[])) AS webhook_errors",
        {"ids": ids},
    )
    counts = await cur.fetchone()
    assert counts is not None
    await conn.execute("DELETE FROM widgets WHERE id = ANY(%(ids)s::uuid[])", {"ids": ids})
    return DeletedWidgets(
        ids, int(counts["chat_logs"]), int(counts["analytics"]), int(counts["webhook_errors"])
    )


# Webhook health checks and alerts (the webhook_check job and the relay; DESIGN.md "Alerts").

AlertKind = Literal["failing", "recovered"]


class AlertClaim(NamedTuple):
    """A health transition this caller claimed, and so must announce: what the alert says."""

    kind: AlertKind
    widget_id: UUID
    widget_name: str
    client_name: str
    error_type: str | None  # the last failure's kind
    error_detail: str | None  # the last failure's message
    since: datetime  # failing since then (for a recovery: was failing since then)
    at: datetime  # when the transition was seen


async def claim_for_health_check(conn: Conn, *, now: datetime, lease_seconds: float) -> list[Widget]:
    """Claim every active, unexpired widget no other health check holds, for `lease_seconds`, and
    return them: two checks at once split the widgets instead of probing each twice. A check
    releases a widget when it settles its result (`settle_health`); a crashed one's lease expires."""
    cur = await conn.execute(
        "UPDATE widgets SET health_claimed_until = %(now)s + make_interval(secs => %(lease)s) "
        "WHERE id IN (SELECT id FROM widgets "
        "             WHERE is_active IS TRUE AND (expires_at IS NULL OR expires_at > %(now)s) "
        "               AND (health_claimed_until IS NULL OR health_claimed_until <= %(now)s) "
        "             FOR UPDATE SKIP LOCKED) "
        f"RETURNING {_COLUMNS}",
        {"now": now, "lease": lease_seconds},
    )
    return [Widget.model_validate(row) for row in await cur.fetchall()]


async def settle_health(
    conn: Conn,
    *,
    widget_id: UUID,
    at: datetime,
    after_failures: int,
    after_relay_failures: int,
    release_claim: bool,
) -> AlertClaim | None:
    """Bring a widget's alert state in line with its recorded health, under a row lock, and return
    the transition to announce if this call claimed one (else None).

    Failing: `failing_since` is set at the first failure; the widget is claimed as alerted-failing
    once it has `after_failures` failed checks or `after_relay_failures` failed messages in a row.
    Healthy: the failure streaks end, and a widget alerted as failing is claimed as recovered.
    Only the call that flips `alerted_state` gets the claim, however many run at once."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT w.name, c.name AS client_name, w.health_status, w.consecutive_failures, "
            "       w.relay_failures, w.failing_since, w.alerted_state, w.last_error_type, "
            "       w.health_claimed_until "
            "FROM widgets w JOIN clients c ON c.id = w.client_id WHERE w.id = %(id)s FOR UPDATE OF w",
            {"id": widget_id},
        )
        row = await cur.fetchone()
        if row is None:
            return None
        failing_since, relay_failures = row["failing_since"], row["relay_failures"]
        alerted_state = row["alerted_state"]
        kind: AlertKind | None = None
        if row["health_status"] == "failing":
            failing_since = failing_since or at
            if alerted_state != "failing" and (
                row["consecutive_failures"] >= after_failures or relay_failures >= after_relay_failures
            ):
                alerted_state, kind = "failing", "failing"
        elif row["health_status"] == "healthy":
            failing_since, relay_failures = None, 0
            if alerted_state == "failing":
                alerted_state, kind = "healthy", "recovered"
        changed = (
            failing_since != row["failing_since"]
            or relay_failures != row["relay_failures"]
            or alerted_state != row["alerted_state"]
            or (release_claim and row["health_claimed_until"] is not None)
        )
        if changed:
            await conn.execute(
                "UPDATE widgets SET failing_since = %(failing_since)s, relay_failures = %(relay_failures)s, "
                "  alerted_state = %(alerted_state)s, "
                "  alerted_at = CASE WHEN %(claimed)s THEN %(at)s ELSE alerted_at END, "
                "  health_claimed_until = CASE WHEN %(release)s THEN NULL ELSE health_claimed_until END "
                "WHERE id = %(id)s",
                {
                    "failing_since": failing_since,
                    "relay_failures": relay_failures,
                    "alerted_state": alerted_state,
                    "claimed": kind is not None,
                    "at": at,
                    "release": release_claim,
                    "id": widget_id,
                },
            )
        if kind is None:
            return None
        cur = await conn.execute(
            "SELECT error_type, error_message FROM webhook_errors WHERE widget_id = %(id)s "
            "ORDER BY occurred_at DESC, id DESC LIMIT 1",
            {"id": widget_id},
        )
        last = await cur.fetchone()
        return AlertClaim(
            kind=kind,
            widget_id=widget_id,
            widget_name=row["name"],
            client_name=row["client_name"],
            error_type=row["last_error_type"] or (last["error_type"] if last else None),
            error_detail=last["error_message"] if last else None,
            since=row["failing_since"] or at,
            at=at,
        )


async def record_relay_failure(
    conn: Conn, *, widget_id: UUID, error_type: WebhookErrorType, threshold: int, at: datetime
) -> bool:
    """Count one more failed visitor message in a row; at `threshold` the widget is marked failing
    between checks. One UPDATE. Returns whether the widget now waits for a failing alert."""
    cur = await conn.execute(
        "UPDATE widgets SET relay_failures = relay_failures + 1, "
        "  health_status = CASE WHEN relay_failures + 1 >= %(threshold)s THEN 'failing' ELSE health_status END, "
        "  last_error_type = CASE WHEN relay_failures + 1 >= %(threshold)s THEN %(error_type)s "
        "                         ELSE last_error_type END, "
        "  failing_since = CASE WHEN relay_failures + 1 >= %(threshold)s THEN coalesce(failing_since, %(at)s) "
        "                       ELSE failing_since END "
        "WHERE id = %(id)s RETURNING relay_failures >= %(threshold)s "
        "  AND alerted_state IS DISTINCT FROM 'failing' AS unannounced",
        {"id": widget_id, "error_type": error_type, "threshold": threshold, "at": at},
    )
    row = await cur.fetchone()
    return bool(row and row["unannounced"])


async def expired_demo_widget_ids(conn: Conn, *, now: datetime, limit: int) -> list[UUID]:
    """Up to `limit` demo widgets that expired by `now`, oldest expiry first."""
    cur = await conn.execute(
        "SELECT id FROM widgets WHERE is_demo IS TRUE AND expires_at <= %(now)s "
        "ORDER BY expires_at, id LIMIT %(limit)s",
        {"now": now, "limit": limit},
    )
    return [row["id"] for row in await cur.fetchall()]


async def delete_expired_demo_widgets(conn: Conn, *, ids: list[UUID], now: datetime) -> DeletedWidgets:
    """Delete those of `ids` that are still expired demo widgets (an admin may have extended one
    meanwhile), with whatever rows are left below them, in one transaction, counting what goes."""
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT id FROM widgets WHERE id = ANY(%(ids)s::uuid[]) AND is_demo IS TRUE "
            "  AND expires_at <= %(now)s ORDER BY id FOR UPDATE SKIP LOCKED",
            {"ids": ids, "now": now},
        )
        return await _delete_locked(conn, [row["id"] for row in await cur.fetchall()])


async def widgets_with_retention(conn: Conn) -> list[tuple[UUID, int]]:
    """(widget id, retention days) of every widget whose config sets `retention_days`."""
    cur = await conn.execute(
        "SELECT id, (config->>'retention_days')::int AS days FROM widgets "
        "WHERE jsonb_typeof(config->'retention_days') = 'number' ORDER BY id"
    )
    return [(row["id"], int(row["days"])) for row in await cur.fetchall()]
