"""Daily analytics rollups per widget, and the one query that computes them from chat logs (used by
the rollup job to write a day, and by the analytics reads for what is not rolled up yet, so the two
agree by construction).

The computing query works on segments: (label date, [lo, hi)) windows of chat logs. The rollup
passes one UTC day; a read passes the parts of its range no stored row covers, labelled with their
local date. Hours index the arrays in `tz` wall-clock hours ('UTC' for stored rows).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any
from uuid import UUID

from shared.db import Conn
from shared.models import AnalyticsDay
from shared.models.analytics import RollupRow, Segment, WidgetRef

_COLUMNS = (
    "widget_id, date, num_chats, num_conversations, num_failed, avg_confidence, positive_feedback, "
    "negative_feedback, avg_response_time_ms, p95_response_time_ms, "
    "coalesce(most_common_questions, '[]'::jsonb) AS most_common_questions, top_topics, updated_at"
)

# What a computed or stored row carries (the analytics columns the reads compose).
ROW_COLUMNS = (
    "widget_id",
    "date",
    "hour_messages",
    "hour_chats",
    "hour_failed",
    "hour_conversations",
    "hour_confidence_sum",
    "hour_confidence_count",
    "hour_positive",
    "hour_negative",
    "hour_response_sum",
    "hour_response_count",
    "response_buckets",
    "response_bucket_counts",
    "response_hour_buckets",
    "response_hour_bucket_counts",
    "top_questions",
    "top_topics",
    "knowledge_gaps",
)
# Candidates kept per row, so lists merged over a range rank more than they show.
KEEP_QUESTIONS = 50
KEEP_TOPICS = 20
# Wordings kept per question, with their counts, to pick the most frequent one over a range.
KEEP_TEXTS = 5

# Response-time bucket: exact milliseconds below 1 s, then 1 % wide (shared with services.analytics).
_BUCKET = (
    "CASE WHEN response_time_ms < 1000 THEN response_time_ms "
    "ELSE 1000 + floor(ln(response_time_ms / 1000.0) / ln(1.01))::int END"
)

_COMPUTE = """
WITH seg AS (
    SELECT * FROM unnest(%(seg_days)s::date[], %(seg_los)s::timestamptz[], %(seg_his)s::timestamptz[])
        AS s(day, lo, hi)
),
logs AS (
    SELECT c.widget_id, s.day, s.lo, c.user_id, c.message, c.response, c.confidence, c.feedback,
           c.status, c.response_time_ms, c.topic, c.created_at,
           extract(hour FROM c.created_at AT TIME ZONE %(tz)s)::int AS hour,
           {question} AS question,
           c.status = 'failed' AS is_failed,
           coalesce(c.status = 'answered' AND c.confidence
                    < coalesce((w.config ->> 'low_confidence_threshold')::float8, 0.5), false) AS is_low,
           coalesce(c.feedback = 'down', false) AS is_down
    FROM seg s
    JOIN chat_logs c ON c.created_at >= s.lo AND c.created_at < s.hi
    JOIN widgets w ON w.id = c.widget_id
    WHERE (%(widget_ids)s::uuid[] IS NULL OR c.widget_id = ANY(%(widget_ids)s::uuid[]))
),
hours AS (
    SELECT widget_id, day, hour,
           count(*) AS messages,
           count(*) FILTER (WHERE status = 'answered') AS chats,
           count(*) FILTER (WHERE is_failed) AS failed,
           coalesce(sum(confidence), 0)::float8 AS confidence_sum,
           count(confidence) AS confidence_count,
           count(*) FILTER (WHERE feedback = 'up') AS positive,
           count(*) FILTER (WHERE feedback = 'down') AS negative,
           coalesce(sum(response_time_ms) FILTER (WHERE status = 'answered'), 0)::bigint AS response_sum,
           count(response_time_ms) FILTER (WHERE status = 'answered') AS response_count
    FROM logs GROUP BY widget_id, day, hour
),
firsts AS (
    -- Sessions whose first message ever is in the segment: counted once, where they start.
    SELECT l.widget_id, l.day, extract(hour FROM min(l.created_at) AT TIME ZONE %(tz)s)::int AS hour
    FROM logs l
    WHERE l.user_id IS NOT NULL
    GROUP BY l.widget_id, l.day, l.lo, l.user_id
    HAVING NOT EXISTS (
        SELECT 1 FROM chat_logs p
        WHERE p.widget_id = l.widget_id AND p.user_id = l.user_id AND p.created_at < l.lo
    )
),
starts AS (
    SELECT widget_id, day, hour, count(*) AS conversations FROM firsts GROUP BY widget_id, day, hour
),
rows AS (SELECT DISTINCT widget_id, day FROM hours),
grid AS (
    SELECT r.widget_id, r.day, g.hour,
           coalesce(h.messages, 0)::int AS messages, coalesce(h.chats, 0)::int AS chats,
           coalesce(h.failed, 0)::int AS failed, coalesce(st.conversations, 0)::int AS conversations,
           coalesce(h.confidence_sum, 0)::float8 AS confidence_sum,
           coalesce(h.confidence_count, 0)::int AS confidence_count,
           coalesce(h.positive, 0)::int AS positive, coalesce(h.negative, 0)::int AS negative,
           coalesce(h.response_sum, 0)::bigint AS response_sum,
           coalesce(h.response_count, 0)::int AS response_count
    FROM rows r
    CROSS JOIN generate_series(0, 23) AS g(hour)
    LEFT JOIN hours h ON h.widget_id = r.widget_id AND h.day = r.day AND h.hour = g.hour
    LEFT JOIN starts st ON st.widget_id = r.widget_id AND st.day = r.day AND st.hour = g.hour
),
arrays AS (
    SELECT widget_id, day,
           array_agg(messages ORDER BY hour) AS hour_messages,
           array_agg(chats ORDER BY hour) AS hour_chats,
           array_agg(failed ORDER BY hour) AS hour_failed,
           array_agg(conversations ORDER BY hour) AS hour_conversations,
           array_agg(confidence_sum ORDER BY hour) AS hour_confidence_sum,
           array_agg(confidence_count ORDER BY hour) AS hour_confidence_count,
           array_agg(positive ORDER BY hour) AS hour_positive,
           array_agg(negative ORDER BY hour) AS hour_negative,
           array_agg(response_sum ORDER BY hour) AS hour_response_sum,
           array_agg(response_count ORDER BY hour) AS hour_response_count,
           sum(messages)::int AS num_messages, sum(chats)::int AS num_chats,
           sum(failed)::int AS num_failed, sum(conversations)::int AS num_conversations,
           sum(positive)::int AS positive_feedback, sum(negative)::int AS negative_feedback,
           sum(confidence_sum) / nullif(sum(confidence_count), 0) AS avg_confidence,
           sum(response_sum)::float8 / nullif(sum(response_count), 0) AS avg_response_time_ms
    FROM grid GROUP BY widget_id, day
),
timed AS (
    SELECT widget_id, day, hour, {bucket} AS bucket, response_time_ms
    FROM logs WHERE status = 'answered' AND response_time_ms IS NOT NULL
),
day_buckets AS (
    SELECT widget_id, day, bucket, count(*)::int AS n FROM timed GROUP BY widget_id, day, bucket
),
hour_buckets AS (
    SELECT widget_id, day, hour * 10000 + bucket AS key, count(*)::int AS n
    FROM timed GROUP BY widget_id, day, hour * 10000 + bucket
),
histograms AS (
    SELECT d.widget_id, d.day, d.buckets, d.counts, h.keys, h.key_counts, p.p95
    FROM (SELECT widget_id, day, array_agg(bucket ORDER BY bucket) AS buckets,
                 array_agg(n ORDER BY bucket) AS counts
          FROM day_buckets GROUP BY widget_id, day) d
    JOIN (SELECT widget_id, day, array_agg(key ORDER BY key) AS keys, array_agg(n ORDER BY key) AS key_counts
          FROM hour_buckets GROUP BY widget_id, day) h USING (widget_id, day)
    JOIN (SELECT widget_id, day,
                 percentile_disc(0.95) WITHIN GROUP (ORDER BY response_time_ms)::float8 AS p95
          FROM timed GROUP BY widget_id, day) p USING (widget_id, day)
),
wordings AS (
    SELECT widget_id, day, question, message, count(*)::int AS n
    FROM logs WHERE question <> '' GROUP BY widget_id, day, question, message
),
questions AS (
    SELECT widget_id, day, question, sum(n)::int AS n,
           to_jsonb((array_agg(jsonb_build_array(message, n) ORDER BY n DESC, message))[1:{keep_texts}]) AS texts
    FROM wordings GROUP BY widget_id, day, question
),
question_lists AS (
    SELECT widget_id, day,
           jsonb_agg(jsonb_build_object('key', question, 'count', n, 'texts', texts)
                     ORDER BY n DESC, question) AS top_questions
    FROM (SELECT *, row_number() OVER (PARTITION BY widget_id, day ORDER BY n DESC, question) AS rank
          FROM questions) q
    WHERE rank <= {keep_questions}
    GROUP BY widget_id, day
),
topic_lists AS (
    SELECT widget_id, day,
           jsonb_agg(jsonb_build_object('topic', topic, 'count', n) ORDER BY n DESC, topic) AS top_topics
    FROM (SELECT widget_id, day, topic, count(*)::int AS n,
                 row_number() OVER (PARTITION BY widget_id, day ORDER BY count(*) DESC, topic) AS rank
          FROM logs WHERE topic IS NOT NULL AND topic <> '' GROUP BY widget_id, day, topic) t
    WHERE rank <= {keep_topics}
    GROUP BY widget_id, day
),
gap_logs AS (
    SELECT * FROM logs WHERE (is_failed OR is_low OR is_down) AND question <> ''
),
gap_wordings AS (
    SELECT widget_id, day, question, message, count(*)::int AS n
    FROM gap_logs GROUP BY widget_id, day, question, message
),
gaps AS (
    SELECT g.widget_id, g.day, g.question, count(*)::int AS n,
           count(*) FILTER (WHERE is_failed)::int AS failed,
           count(*) FILTER (WHERE is_low)::int AS low_confidence,
           count(*) FILTER (WHERE is_down)::int AS thumbs_down,
           max(created_at) AS last_at,
           (array_agg(response ORDER BY created_at DESC) FILTER (WHERE status = 'answered'))[1] AS last_reply,
           max(created_at) FILTER (WHERE status = 'answered') AS last_reply_at
    FROM gap_logs g GROUP BY g.widget_id, g.day, g.question
),
gap_texts AS (
    SELECT widget_id, day, question,
           to_jsonb((array_agg(jsonb_build_array(message, n) ORDER BY n DESC, message))[1:{keep_texts}]) AS texts
    FROM gap_wordings GROUP BY widget_id, day, question
),
gap_lists AS (
    SELECT widget_id, day,
           jsonb_agg(jsonb_build_object(
               'key', question, 'count', n, 'texts', texts, 'failed', failed,
               'low_confidence', low_confidence, 'thumbs_down', thumbs_down,
               'last_at', extract(epoch FROM last_at)::float8, 'last_reply', last_reply,
               'last_reply_at', extract(epoch FROM last_reply_at)::float8) ORDER BY n DESC, question)
           AS knowledge_gaps
    FROM (SELECT g.*, t.texts,
                 row_number() OVER (PARTITION BY g.widget_id, g.day ORDER BY g.n DESC, g.question) AS rank
          FROM gaps g JOIN gap_texts t USING (widget_id, day, question)) ranked
    WHERE rank <= {keep_questions}
    GROUP BY widget_id, day
)
SELECT a.widget_id, a.day AS date, a.num_messages, a.num_chats, a.num_conversations, a.num_failed,
       a.avg_confidence, a.positive_feedback, a.negative_feedback, a.avg_response_time_ms,
       hg.p95 AS p95_response_time_ms,
       a.hour_messages, a.hour_chats, a.hour_failed, a.hour_conversations, a.hour_confidence_sum,
       a.hour_confidence_count, a.hour_positive, a.hour_negative, a.hour_response_sum,
       a.hour_response_count,
       coalesce(hg.buckets, '{{}}') AS response_buckets, coalesce(hg.counts, '{{}}') AS response_bucket_counts,
       coalesce(hg.keys, '{{}}') AS response_hour_buckets,
       coalesce(hg.key_counts, '{{}}') AS response_hour_bucket_counts,
       coalesce(ql.top_questions, '[]'::jsonb) AS top_questions,
       coalesce(tl.top_topics, '[]'::jsonb) AS top_topics,
       coalesce(gl.knowledge_gaps, '[]'::jsonb) AS knowledge_gaps
FROM arrays a
LEFT JOIN histograms hg USING (widget_id, day)
LEFT JOIN question_lists ql USING (widget_id, day)
LEFT JOIN topic_lists tl USING (widget_id, day)
LEFT JOIN gap_lists gl USING (widget_id, day)
"""

_UPSERT = """
WITH computed AS ({compute}),
stale AS (
    DELETE FROM analytics
    WHERE date = %(day)s AND widget_id NOT IN (SELECT widget_id FROM computed)
    RETURNING widget_id
),
written AS (
    INSERT INTO analytics (
        widget_id, date, num_messages, num_chats, num_conversations, num_failed, avg_confidence,
        positive_feedback, negative_feedback, avg_response_time_ms, p95_response_time_ms,
        hour_messages, hour_chats, hour_failed, hour_conversations, hour_confidence_sum,
        hour_confidence_count, hour_positive, hour_negative, hour_response_sum, hour_response_count,
        response_buckets, response_bucket_counts, response_hour_buckets, response_hour_bucket_counts,
        top_questions, top_topics, knowledge_gaps, most_common_questions)
    SELECT widget_id, date, num_messages, num_chats, num_conversations, num_failed, avg_confidence,
           positive_feedback, negative_feedback, avg_response_time_ms, p95_response_time_ms,
           hour_messages, hour_chats, hour_failed, hour_conversations, hour_confidence_sum,
           hour_confidence_count, hour_positive, hour_negative, hour_response_sum, hour_response_count,
           response_buckets, response_bucket_counts, response_hour_buckets, response_hour_bucket_counts,
           top_questions, top_topics, knowledge_gaps,
           (SELECT coalesce(jsonb_agg(jsonb_build_object('question', q -> 'texts' -> 0 ->> 0, 'count', (q ->> 'count')::int)
                                      ORDER BY i), '[]'::jsonb)
            FROM jsonb_array_elements(top_questions) WITH ORDINALITY AS e(q, i) WHERE i <= 10)
    FROM computed
    ON CONFLICT (widget_id, date) DO UPDATE SET
        num_messages = EXCLUDED.num_messages, num_chats = EXCLUDED.num_chats,
        num_conversations = EXCLUDED.num_conversations, num_failed = EXCLUDED.num_failed,
        avg_confidence = EXCLUDED.avg_confidence, positive_feedback = EXCLUDED.positive_feedback,
        negative_feedback = EXCLUDED.negative_feedback,
        avg_response_time_ms = EXCLUDED.avg_response_time_ms,
        p95_response_time_ms = EXCLUDED.p95_response_time_ms,
        hour_messages = EXCLUDED.hour_messages, hour_chats = EXCLUDED.hour_chats,
        hour_failed = EXCLUDED.hour_failed, hour_conversations = EXCLUDED.hour_conversations,
        hour_confidence_sum = EXCLUDED.hour_confidence_sum,
        hour_confidence_count = EXCLUDED.hour_confidence_count,
        hour_positive = EXCLUDED.hour_positive, hour_negative = EXCLUDED.hour_negative,
        hour_response_sum = EXCLUDED.hour_response_sum,
        hour_response_count = EXCLUDED.hour_response_count,
        response_buckets = EXCLUDED.response_buckets,
        response_bucket_counts = EXCLUDED.response_bucket_counts,
        response_hour_buckets = EXCLUDED.response_hour_buckets,
        response_hour_bucket_counts = EXCLUDED.response_hour_bucket_counts,
        top_questions = EXCLUDED.top_questions, top_topics = EXCLUDED.top_topics,
        knowledge_gaps = EXCLUDED.knowledge_gaps, most_common_questions = EXCLUDED.most_common_questions
    RETURNING widget_id
)
SELECT (SELECT count(*) FROM written) AS written, (SELECT count(*) FROM stale) AS deleted
"""


def _compute_sql(question_sql: str) -> str:
    return _COMPUTE.format(
        question=question_sql.format(column="c.message"),
        bucket=_BUCKET,
        keep_questions=KEEP_QUESTIONS,
        keep_topics=KEEP_TOPICS,
        keep_texts=KEEP_TEXTS,
    )


def _segment_params(segments: Sequence[Segment]) -> dict[str, Any]:
    return {
        "seg_days": [s.day for s in segments],
        "seg_los": [s.lo for s in segments],
        "seg_his": [s.hi for s in segments],
    }


async def compute_rows(
    conn: Conn,
    *,
    segments: Sequence[Segment],
    tz: str,
    widget_ids: Sequence[UUID] | None,
    question_sql: str,
    question_params: Mapping[str, object],
) -> list[RollupRow]:
    """Rows computed live from chat logs, one per widget and segment label that has messages, with
    hours in `tz` wall-clock time (the rollup's own query, without writing)."""
    if not segments:
        return []
    cur = await conn.execute(
        _compute_sql(question_sql),  # built from constants only
        {
            **question_params,
            **_segment_params(segments),
            "tz": tz,
            "widget_ids": list(widget_ids) if widget_ids is not None else None,
        },
    )
    return [RollupRow.from_row(row) for row in await cur.fetchall()]


async def upsert_day(
    conn: Conn,
    *,
    day: date,
    lo: datetime,
    hi: datetime,
    question_sql: str,
    question_params: Mapping[str, object],
) -> tuple[int, int]:
    """Roll up one UTC day for every widget in one statement (rows written, stale rows deleted),
    and record when. Runs of the same day, even at once, queue on a lock and give the same rows."""
    async with conn.transaction():
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('analytics_rollup'), %(n)s)", {"n": day.toordinal()}
        )
        cur = await conn.execute(
            _UPSERT.format(compute=_compute_sql(question_sql)),
            {
                **question_params,
                **_segment_params([Segment(day, lo, hi)]),
                "tz": "UTC",
                "widget_ids": None,
                "day": day,
            },
        )
        counts = await cur.fetchone()
        await conn.execute(
            "INSERT INTO analytics_rollup_days (date, rolled_up_at) VALUES (%(day)s, now()) "
            "ON CONFLICT (date) DO UPDATE SET rolled_up_at = EXCLUDED.rolled_up_at",
            {"day": day},
        )
    assert counts is not None
    return int(counts["written"]), int(counts["deleted"])


async def list_rows(conn: Conn, *, widget_ids: Sequence[UUID], first: date, last: date) -> list[RollupRow]:
    """Stored rows of these widgets from `first` to `last` (UTC days) inclusive."""
    cur = await conn.execute(
        f"SELECT {', '.join(ROW_COLUMNS)} FROM analytics "
        "WHERE widget_id = ANY(%(ids)s::uuid[]) AND date BETWEEN %(first)s AND %(last)s",
        {"ids": list(widget_ids), "first": first, "last": last},
    )
    return [RollupRow.from_row(row) for row in await cur.fetchall()]


async def rolled_up_days(conn: Conn, *, first: date, last: date) -> dict[date, datetime]:
    """When each UTC day from `first` to `last` was last rolled up (days never rolled up are absent)."""
    cur = await conn.execute(
        "SELECT date, rolled_up_at FROM analytics_rollup_days WHERE date BETWEEN %(first)s AND %(last)s",
        {"first": first, "last": last},
    )
    return {row["date"]: row["rolled_up_at"] for row in await cur.fetchall()}


async def get_widget_ref(conn: Conn, *, widget_id: UUID) -> WidgetRef | None:
    """The fields of a widget an analytics answer names, or None."""
    cur = await conn.execute(
        "SELECT id, client_id, name, is_active, is_demo FROM widgets WHERE id = %(id)s", {"id": widget_id}
    )
    row = await cur.fetchone()
    return WidgetRef.model_validate(row) if row else None


async def list_widget_refs(conn: Conn, *, client_id: UUID | None) -> list[WidgetRef]:
    """Widgets (of one client, or all), by client then name."""
    cur = await conn.execute(
        "SELECT id, client_id, name, is_active, is_demo FROM widgets "
        "WHERE (%(client_id)s::uuid IS NULL OR client_id = %(client_id)s) "
        "ORDER BY client_id, lower(name), id",
        {"client_id": client_id},
    )
    return [WidgetRef.model_validate(row) for row in await cur.fetchall()]


async def get_client_name(conn: Conn, *, client_id: UUID) -> str | None:
    """A client's name, or None when there is no such client."""
    cur = await conn.execute("SELECT name FROM clients WHERE id = %(id)s", {"id": client_id})
    row = await cur.fetchone()
    return str(row["name"]) if row else None


@contextlib.asynccontextmanager
async def read_only(conn: Conn) -> AsyncIterator[Conn]:
    """A read-only transaction on `conn`: any write inside it fails (DESIGN.md "Analytics")."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION READ ONLY")
        yield conn


async def list_days(conn: Conn, *, widget_id: UUID, start: date, end: date) -> list[AnalyticsDay]:
    """The widget's daily rollups from `start` to `end` inclusive, oldest first."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM analytics "
        "WHERE widget_id = %(widget_id)s AND date BETWEEN %(start)s AND %(end)s ORDER BY date",
        {"widget_id": widget_id, "start": start, "end": end},
    )
    return [AnalyticsDay.model_validate(row) for row in await cur.fetchall()]
