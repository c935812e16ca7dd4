"""Small helpers the repositories share: SQL parameters, and the admin lists' page statement."""

from __future__ import annotations

from typing import Any, Literal

import psycopg
from psycopg.rows import tuple_row


def escape_like(text: str) -> str:
    """`text` matched literally inside a LIKE/ILIKE pattern (backslash is Postgres's default escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# A list page and its exact total in one statement (the admin lists). The page's ids come first, in
# the list's order and from its index where there is one (`ids`); then their rows. The total is counted
# only when the page does not already tell it (a first page shorter than the limit is every match),
# in an initplan PostgreSQL runs only when the CASE reaches it. An empty page still answers one row:
# the total, with null columns.
_PAGE_WITH_TOTAL = (
    "WITH page AS MATERIALIZED ("
    "  {ids} LIMIT %(limit)s OFFSET %(offset)s"
    ") "
    "SELECT {columns}, counted.total FROM ("
    "  SELECT CASE WHEN %(offset)s = 0 AND (SELECT count(*) FROM page) < %(limit)s"
    "    THEN (SELECT count(*) FROM page)"
    "    ELSE ({count}) END AS total"
    ") AS counted LEFT JOIN (page JOIN {rows} USING (id)) ON true "
    "ORDER BY {order}"
)


ListedTable = Literal["widgets", "clients"]  # the tables whose row count is kept (migration 0019)


def page_with_total(
    *,
    table: ListedTable,
    alias: str,
    conditions: list[str],
    order: str,
    columns: str,
    matches: tuple[str, str] | None = None,
) -> str:
    """The statement of a list page with its exact total (`fetch_page`): rows of `table`, which the
    other parts name `alias`; `conditions` the filters given (fixed SQL fragments, values as
    parameters; none: the table's kept row count is the total, 0019), `order` the list's order
    ending in a unique key, `columns` each row's values. Parameters: the conditions', `limit` and
    `offset`.

    `matches`, when given, replaces how the matches are found: a statement of their ids, as `id`,
    in the list's order, and one of their count (both fixed SQL, read from a kept search index, say).
    """
    rows = f"{table} {alias}"
    if matches is not None:
        ids, count = matches
    else:
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        ids = f"SELECT id FROM {rows} {where} ORDER BY {order}"
        count = (
            f"SELECT count(*) FROM {rows} {where}"
            if conditions
            else f"SELECT n FROM list_row_counts WHERE table_name = '{table}'"
        )
    return _PAGE_WITH_TOTAL.format(rows=rows, ids=ids, count=count, order=order, columns=columns)


async def fetch_page(
    conn: psycopg.AsyncConnection[Any], statement: str, params: dict[str, Any]
) -> tuple[list[tuple[Any, ...]], int]:
    """Run a `page_with_total` statement: the page's rows as tuples (cheaper than dicts; the
    first column must be the non-null id) and the total."""
    cur = conn.cursor(row_factory=tuple_row)
    await cur.execute(statement, params)
    found = await cur.fetchall()
    return [row[:-1] for row in found if row[0] is not None], int(found[0][-1])
