"""Daily analytics rollups per widget, and the one query that computes them from chat logs (used by
the rollup job to write a day, and by the analytics reads for what is not rolled up yet, so the two
agree by construction).

The computing query works on segments: (label date, [lo, hi)) windows of chat logs. The rollup
passes one UTC day (up to its settle margin); a read passes the parts of its range no stored row
covers, labelled with their local date. Hours index the arrays in `tz` wall-clock hours ('UTC' for
stored rows). The read queries below merge stored rows in SQL and return only small results: one
statement for a UTC range's stored days, one for a widget's lists.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple
from uuid import UUID

import psycopg

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
    "p95_bucket",
    "question_keys",
    "question_counts",
    "gap_keys",
    "gap_counts",
    "topic_names",
    "topic_counts",
    "question_text_keys",
    "question_texts",
    "question_text_counts",
    "gap_failed",
    "gap_low_confidence",
    "gap_thumbs_down",
    "gap_last_at",
    "gap_last_reply",
    "gap_last_reply_at",
    "gap_text_keys",
    "gap_texts",
    "gap_text_counts",
)
# Keys kept per row (widget and day), so that lists merged over a range count every key exactly
# whenever no day of the range had more distinct ones than this (see README "Questions"). A busier
# day keeps its most asked ones, and a key below that day's cut is under-counted by its count there.
# The range's read ranks every kept key of every day: these bound its cost.
KEEP_QUESTIONS = 200
KEEP_TOPICS = 50
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
-- Each widget's low-confidence threshold, read from its config once (not once per log).
thresholds AS MATERIALIZED (
    SELECT id, coalesce((config ->> 'low_confidence_threshold')::float8, 0.5) AS threshold FROM widgets
),
logs AS (
    SELECT c.widget_id, s.day, s.lo, c.user_id, c.message, c.response, c.confidence, c.feedback,
           c.status, c.response_time_ms, c.topic, c.created_at,
           date_part('hour', c.created_at AT TIME ZONE %(tz)s)::int AS hour,
           c.question_key AS question,
           c.status = 'failed' AS is_failed,
           coalesce(c.status = 'answered' AND c.confidence < w.threshold, false) AS is_low,
           coalesce(c.feedback = 'down', false) AS is_down
    FROM seg s
    JOIN chat_logs c ON c.created_at >= s.lo AND c.created_at < s.hi
    JOIN thresholds w ON w.id = c.widget_id
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
    SELECT l.widget_id, l.day, date_part('hour', min(l.created_at) AT TIME ZONE %(tz)s)::int AS hour
    FROM logs l
    WHERE l.user_id IS NOT NULL
    GROUP BY l.widget_id, l.day, l.lo, l.user_id
    -- A scalar subquery with LIMIT 1 is one index probe per session; NOT EXISTS here is planned as
    -- an anti-join over every earlier log of the widgets.
    HAVING (SELECT 1 FROM chat_logs p
            WHERE p.widget_id = l.widget_id AND p.user_id = l.user_id AND p.created_at < l.lo LIMIT 1) IS NULL
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
question_ranked AS (
    SELECT *, row_number() OVER (PARTITION BY widget_id, day ORDER BY n DESC, question)::int AS rank
    FROM questions
),
question_lists AS (
    SELECT widget_id, day,
           jsonb_agg(jsonb_build_object('key', question, 'count', n, 'texts', texts) ORDER BY rank)
               AS top_questions,
           array_agg(question ORDER BY rank) AS question_keys,
           array_agg(n ORDER BY rank) AS question_counts
    FROM question_ranked
    WHERE rank <= {keep_questions}
    GROUP BY widget_id, day
),
-- The same wordings flat, each with the 1-based place of its question in question_keys.
{question_text_lists},
topic_lists AS (
    SELECT widget_id, day,
           jsonb_agg(jsonb_build_object('topic', topic, 'count', n) ORDER BY n DESC, topic) AS top_topics,
           array_agg(topic ORDER BY n DESC, topic) AS topic_names,
           array_agg(n ORDER BY n DESC, topic) AS topic_counts
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
gap_ranked AS (
    SELECT g.*, t.texts,
           row_number() OVER (PARTITION BY g.widget_id, g.day ORDER BY g.n DESC, g.question)::int AS rank
    FROM gaps g JOIN gap_texts t USING (widget_id, day, question)
),
gap_lists AS (
    SELECT widget_id, day,
           jsonb_agg(jsonb_build_object(
               'key', question, 'count', n, 'texts', texts, 'failed', failed,
               'low_confidence', low_confidence, 'thumbs_down', thumbs_down,
               'last_at', extract(epoch FROM last_at)::float8, 'last_reply', last_reply,
               'last_reply_at', extract(epoch FROM last_reply_at)::float8) ORDER BY rank)
           AS knowledge_gaps,
           array_agg(question ORDER BY rank) AS gap_keys,
           array_agg(n ORDER BY rank) AS gap_counts,
           array_agg(failed ORDER BY rank) AS gap_failed,
           array_agg(low_confidence ORDER BY rank) AS gap_low_confidence,
           array_agg(thumbs_down ORDER BY rank) AS gap_thumbs_down,
           array_agg(extract(epoch FROM last_at)::float8 ORDER BY rank) AS gap_last_at,
           array_agg(last_reply ORDER BY rank) AS gap_last_reply,
           array_agg(extract(epoch FROM last_reply_at)::float8 ORDER BY rank) AS gap_last_reply_at
    FROM gap_ranked
    WHERE rank <= {keep_questions}
    GROUP BY widget_id, day
),
{gap_text_lists}
SELECT a.widget_id, a.day AS date, a.num_messages, a.num_chats, a.num_conversations, a.num_failed,
       a.avg_confidence, a.positive_feedback, a.negative_feedback, a.avg_response_time_ms,
       hg.p95 AS p95_response_time_ms, analytics_p95_bucket(hg.buckets, hg.counts) AS p95_bucket,
       a.hour_messages, a.hour_chats, a.hour_failed, a.hour_conversations, a.hour_confidence_sum,
       a.hour_confidence_count, a.hour_positive, a.hour_negative, a.hour_response_sum,
       a.hour_response_count,
       coalesce(hg.buckets, '{{}}') AS response_buckets, coalesce(hg.counts, '{{}}') AS response_bucket_counts,
       coalesce(hg.keys, '{{}}') AS response_hour_buckets,
       coalesce(hg.key_counts, '{{}}') AS response_hour_bucket_counts,
       coalesce(ql.top_questions, '[]'::jsonb) AS top_questions,
       coalesce(tl.top_topics, '[]'::jsonb) AS top_topics,
       coalesce(gl.knowledge_gaps, '[]'::jsonb) AS knowledge_gaps,
       coalesce(ql.question_keys, '{{}}') AS question_keys, coalesce(ql.question_counts, '{{}}') AS question_counts,
       coalesce(gl.gap_keys, '{{}}') AS gap_keys, coalesce(gl.gap_counts, '{{}}') AS gap_counts,
       coalesce(tl.topic_names, '{{}}') AS topic_names, coalesce(tl.topic_counts, '{{}}') AS topic_counts,
       coalesce(qt.question_text_keys, '{{}}') AS question_text_keys,
       coalesce(qt.question_texts, '{{}}') AS question_texts,
       coalesce(qt.question_text_counts, '{{}}') AS question_text_counts,
       coalesce(gl.gap_failed, '{{}}') AS gap_failed, coalesce(gl.gap_low_confidence, '{{}}') AS gap_low_confidence,
       coalesce(gl.gap_thumbs_down, '{{}}') AS gap_thumbs_down, coalesce(gl.gap_last_at, '{{}}') AS gap_last_at,
       coalesce(gl.gap_last_reply, '{{}}') AS gap_last_reply,
       coalesce(gl.gap_last_reply_at, '{{}}') AS gap_last_reply_at,
       coalesce(gt.gap_text_keys, '{{}}') AS gap_text_keys, coalesce(gt.gap_texts, '{{}}') AS gap_texts,
       coalesce(gt.gap_text_counts, '{{}}') AS gap_text_counts
FROM arrays a
LEFT JOIN histograms hg USING (widget_id, day)
LEFT JOIN question_lists ql USING (widget_id, day)
LEFT JOIN topic_lists tl USING (widget_id, day)
LEFT JOIN gap_lists gl USING (widget_id, day)
LEFT JOIN question_text_lists qt USING (widget_id, day)
LEFT JOIN gap_text_lists gt USING (widget_id, day)
"""

_UPSERT = """
WITH computed AS ({compute}),
stale AS (
    DELETE FROM analytics a
    WHERE a.date = ANY(%(days)s::date[])
      AND NOT EXISTS (SELECT 1 FROM computed c WHERE c.widget_id = a.widget_id AND c.date = a.date)
    RETURNING widget_id
),
written AS (
    INSERT INTO analytics (
        widget_id, date, num_messages, num_chats, num_conversations, num_failed, avg_confidence,
        positive_feedback, negative_feedback, avg_response_time_ms, p95_response_time_ms,
        hour_messages, hour_chats, hour_failed, hour_conversations, hour_confidence_sum,
        hour_confidence_count, hour_positive, hour_negative, hour_response_sum, hour_response_count,
        response_buckets, response_bucket_counts, response_hour_buckets, response_hour_bucket_counts,
        top_questions, top_topics, knowledge_gaps, p95_bucket, question_keys, question_counts, gap_keys,
        gap_counts, topic_names, topic_counts, question_text_keys, question_texts, question_text_counts, gap_failed, gap_low_confidence, gap_thumbs_down, gap_last_at, gap_last_reply, gap_last_reply_at, gap_text_keys, gap_texts, gap_text_counts, confidence_sum, confidence_count, response_sum,
        response_count, most_common_questions)
    SELECT widget_id, date, num_messages, num_chats, num_conversations, num_failed, avg_confidence,
           positive_feedback, negative_feedback, avg_response_time_ms, p95_response_time_ms,
           hour_messages, hour_chats, hour_failed, hour_conversations, hour_confidence_sum,
           hour_confidence_count, hour_positive, hour_negative, hour_response_sum, hour_response_count,
           response_buckets, response_bucket_counts, response_hour_buckets, response_hour_bucket_counts,
           top_questions, top_topics, knowledge_gaps, p95_bucket, question_keys, question_counts, gap_keys,
           gap_counts, topic_names, topic_counts, question_text_keys, question_texts, question_text_counts, gap_failed, gap_low_confidence, gap_thumbs_down, gap_last_at, gap_last_reply, gap_last_reply_at, gap_text_keys, gap_texts, gap_text_counts,
           coalesce((SELECT sum(x::numeric)::float8 FROM unnest(hour_confidence_sum) x), 0),
           coalesce((SELECT sum(x)::int FROM unnest(hour_confidence_count) x), 0),
           coalesce((SELECT sum(x)::bigint FROM unnest(hour_response_sum) x), 0),
           coalesce((SELECT sum(x)::int FROM unnest(hour_response_count) x), 0),
           (SELECT coalesce(jsonb_agg(jsonb_build_object('question', q -> 'texts' -> 0 ->> 0, 'count', (q ->> 'count')::int)
                                      ORDER BY i), '[]'::jsonb)
            FROM jsonb_array_elements(top_questions) WITH ORDINALITY AS e(q, i) WHERE i <= 10)
    FROM computed
    ON CONFLICT (widget_id, date) DO UPDATE SET
        num_messages = EXCLUDED.num_messages, num_chats = EXCLUDED.num_chats,
        confidence_sum = EXCLUDED.confidence_sum, confidence_count = EXCLUDED.confidence_count,
        response_sum = EXCLUDED.response_sum, response_count = EXCLUDED.response_count,
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
        knowledge_gaps = EXCLUDED.knowledge_gaps, most_common_questions = EXCLUDED.most_common_questions,
        p95_bucket = EXCLUDED.p95_bucket, question_keys = EXCLUDED.question_keys,
        question_counts = EXCLUDED.question_counts, gap_keys = EXCLUDED.gap_keys,
        gap_counts = EXCLUDED.gap_counts, topic_names = EXCLUDED.topic_names,
        topic_counts = EXCLUDED.topic_counts, question_text_keys = EXCLUDED.question_text_keys, question_texts = EXCLUDED.question_texts, question_text_counts = EXCLUDED.question_text_counts, gap_failed = EXCLUDED.gap_failed, gap_low_confidence = EXCLUDED.gap_low_confidence, gap_thumbs_down = EXCLUDED.gap_thumbs_down, gap_last_at = EXCLUDED.gap_last_at, gap_last_reply = EXCLUDED.gap_last_reply, gap_last_reply_at = EXCLUDED.gap_last_reply_at, gap_text_keys = EXCLUDED.gap_text_keys, gap_texts = EXCLUDED.gap_texts, gap_text_counts = EXCLUDED.gap_text_counts,
        -- set again from the day before by the rollup's next statement
        cumulative_buckets = '{{}}', cumulative_counts = '{{}}'
    RETURNING widget_id
)
SELECT (SELECT count(*) FROM written) AS written, (SELECT count(*) FROM stale) AS deleted
"""


# The widgets' response-time histograms over every stored day up to and including `day`: the day's
# own plus the latest earlier row's running total.
_CUMULATIVE_DAY = """
UPDATE analytics a SET cumulative_buckets = m.buckets, cumulative_counts = m.counts
FROM (
    SELECT d.widget_id, array_agg(x.b ORDER BY x.b) AS buckets, array_agg(x.n ORDER BY x.b) AS counts
    FROM analytics d
    CROSS JOIN LATERAL (
        SELECT b, sum(n)::bigint AS n FROM (
            SELECT u.b, u.n::bigint AS n FROM unnest(d.response_buckets, d.response_bucket_counts) AS u(b, n)
            UNION ALL
            SELECT u.b, u.n
            FROM (SELECT p.cumulative_buckets, p.cumulative_counts FROM analytics p
                  WHERE p.widget_id = d.widget_id AND p.date < d.date ORDER BY p.date DESC LIMIT 1) prev,
                 unnest(prev.cumulative_buckets, prev.cumulative_counts) AS u(b, n)
        ) parts GROUP BY b HAVING sum(n) <> 0
    ) x
    WHERE d.date = %(day)s
    GROUP BY d.widget_id
) m
WHERE a.widget_id = m.widget_id AND a.date = %(day)s
"""

# Rows after the days rolled up (`last` the latest): their running totals, moved by how much the
# days' histograms changed (`old_*`: before).
_CUMULATIVE_LATER = """
WITH delta AS (
    SELECT w, b, sum(n)::bigint AS n FROM (
        SELECT o.w, o.b, -o.n AS n
        FROM unnest(%(old_w)s::uuid[], %(old_b)s::int[], %(old_n)s::bigint[]) AS o(w, b, n)
        UNION ALL
        SELECT d.widget_id, u.b, u.n::bigint
        FROM analytics d, unnest(d.response_buckets, d.response_bucket_counts) AS u(b, n)
        WHERE d.date = ANY(%(days)s::date[])
    ) parts GROUP BY w, b HAVING sum(n) <> 0
),
merged AS (
    SELECT a.id,
           coalesce(array_agg(s.b ORDER BY s.b) FILTER (WHERE s.b IS NOT NULL), '{}') AS buckets,
           coalesce(array_agg(s.n ORDER BY s.b) FILTER (WHERE s.b IS NOT NULL), '{}') AS counts
    FROM analytics a
    LEFT JOIN LATERAL (
        SELECT b, sum(n)::bigint AS n FROM (
            SELECT u.b, u.n FROM unnest(a.cumulative_buckets, a.cumulative_counts) AS u(b, n)
            UNION ALL
            SELECT delta.b, delta.n FROM delta WHERE delta.w = a.widget_id
        ) parts GROUP BY b HAVING sum(n) <> 0
    ) s ON true
    WHERE a.date > %(last)s AND a.widget_id IN (SELECT w FROM delta)
    GROUP BY a.id
)
UPDATE analytics a SET cumulative_buckets = m.buckets, cumulative_counts = m.counts
FROM merged m WHERE a.id = m.id
"""

# Per local day (weekday and hour NULL) and per weekday x local hour (day NULL): the stored UTC
# hours of these rows, moved into `tz` wall-clock time.
_STORED_COUNTERS = """
WITH cells AS (
    SELECT r.widget_id, r.p95_bucket, u.*,
           CASE WHEN %(tz)s = 'UTC' THEN r.date + (u.n - 1) * interval '1 hour'
                ELSE ((r.date + (u.n - 1) * interval '1 hour') AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s END AS local
    FROM analytics r
    CROSS JOIN LATERAL unnest(r.hour_messages, r.hour_chats, r.hour_failed, r.hour_conversations,
                              r.hour_confidence_sum, r.hour_confidence_count, r.hour_positive,
                              r.hour_negative, r.hour_response_sum, r.hour_response_count)
        WITH ORDINALITY AS u(messages, chats, failed, conversations, confidence_sum, confidence_count,
                             positive, negative, response_sum, response_count, n)
    WHERE r.widget_id = ANY(%(ids)s::uuid[]) AND r.date = ANY(%(days)s::date[])
)
SELECT widget_id, local::date AS day, NULL::int AS weekday, NULL::int AS hour,
       sum(messages)::int AS messages, sum(chats)::int AS chats, sum(failed)::int AS failed,
       sum(conversations)::int AS conversations, sum(confidence_sum::numeric)::float8 AS confidence_sum,
       sum(confidence_count)::int AS confidence_count, sum(positive)::int AS positive,
       sum(negative)::int AS negative, sum(response_sum)::bigint AS response_sum,
       sum(response_count)::int AS response_count, min(p95_bucket) AS p95_bucket
FROM cells GROUP BY widget_id, local::date
UNION ALL
SELECT widget_id, NULL, date_part('isodow', local)::int - 1, date_part('hour', local)::int,
       sum(messages)::int, 0, 0, 0, 0, 0, 0, 0, 0, 0, NULL
FROM cells GROUP BY widget_id, date_part('isodow', local), date_part('hour', local)
HAVING sum(messages) > 0
"""

# Per local day in `local_days`: the p95 bucket of the stored hours (`mixed` days: their histogram
# instead, for the live part to join).
_STORED_HISTOGRAMS = """
SELECT widget_id, day,
       CASE WHEN day <> ALL(%(mixed)s::date[])
            THEN analytics_p95_bucket(array_agg(bucket ORDER BY bucket), array_agg(n ORDER BY bucket)) END
           AS p95_bucket,
       CASE WHEN day = ANY(%(mixed)s::date[]) THEN array_agg(bucket ORDER BY bucket) END AS buckets,
       CASE WHEN day = ANY(%(mixed)s::date[]) THEN array_agg(n ORDER BY bucket) END AS counts
FROM (
    SELECT r.widget_id,
           (((r.date + (u.k / 10000) * interval '1 hour') AT TIME ZONE 'UTC') AT TIME ZONE %(tz)s)::date AS day,
           u.k %% 10000 AS bucket, sum(u.c)::int AS n
    FROM analytics r
    CROSS JOIN LATERAL unnest(r.response_hour_buckets, r.response_hour_bucket_counts) AS u(k, c)
    WHERE r.widget_id = ANY(%(ids)s::uuid[]) AND r.date = ANY(%(days)s::date[])
    GROUP BY 1, 2, 3
) h
WHERE day = ANY(%(local_days)s::date[])
GROUP BY widget_id, day
"""

# Each widget's histogram over the stored days `days` (first..last, those between not in `days`
# left out): the running total at `last` less the one before `first`.
_RANGE_HISTOGRAMS = """
SELECT w.id AS widget_id, array_agg(s.b ORDER BY s.b) AS buckets, array_agg(s.n ORDER BY s.b) AS counts
FROM unnest(%(ids)s::uuid[]) AS w(id)
CROSS JOIN LATERAL (
    SELECT b, sum(n)::bigint AS n FROM (
        SELECT u.b, u.n
        FROM (SELECT cumulative_buckets, cumulative_counts FROM analytics
              WHERE widget_id = w.id AND date <= %(last)s ORDER BY date DESC LIMIT 1) hi,
             unnest(hi.cumulative_buckets, hi.cumulative_counts) AS u(b, n)
        UNION ALL
        SELECT u.b, -u.n
        FROM (SELECT cumulative_buckets, cumulative_counts FROM analytics
              WHERE widget_id = w.id AND date < %(first)s ORDER BY date DESC LIMIT 1) lo,
             unnest(lo.cumulative_buckets, lo.cumulative_counts) AS u(b, n)
        UNION ALL
        SELECT u.b, -u.n::bigint
        FROM analytics x, unnest(x.response_buckets, x.response_bucket_counts) AS u(b, n)
        WHERE x.widget_id = w.id AND x.date BETWEEN %(first)s AND %(last)s AND x.date <> ALL(%(days)s::date[])
    ) parts GROUP BY b HAVING sum(n) <> 0
) s
GROUP BY w.id
"""

# A UTC read's stored days in one statement: each row is one local day, its counters the day's own
# totals (0015), its hourly messages (for the weekday x hour grid), its p95 bucket, and for the `mixed`
# days (with a live part to join) its histogram; then, with `range`, a row per widget (day NULL)
# holding its histogram over all these days (_RANGE_HISTOGRAMS).
_STORED_UTC_DAYS = """
SELECT r.widget_id, r.date AS day, r.p95_bucket, r.hour_messages,
       CASE WHEN r.date = ANY(%(mixed)s::date[]) THEN r.response_buckets END AS buckets,
       CASE WHEN r.date = ANY(%(mixed)s::date[]) THEN r.response_bucket_counts::bigint[] END AS counts,
       r.num_messages AS messages, coalesce(r.num_chats, 0) AS chats, coalesce(r.num_failed, 0) AS failed,
       coalesce(r.num_conversations, 0) AS conversations, r.confidence_sum, r.confidence_count,
       coalesce(r.positive_feedback, 0) AS positive, coalesce(r.negative_feedback, 0) AS negative,
       r.response_sum, r.response_count
FROM analytics r
WHERE r.widget_id = ANY(%(ids)s::uuid[]) AND r.date = ANY(%(days)s::date[])
UNION ALL
SELECT h.widget_id, NULL, NULL, NULL, h.buckets, h.counts, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       NULL, NULL
FROM ({range}) h
WHERE %(range)s
"""


# Stored days' lists as narrow rows (0016): one per widget, day, kind and key, with its wordings and
# (gaps) details, taken from the days' analytics rows just written. Each row's flat wordings are
# unnested once and grouped by the place of their key (0016's backfill did the same with a subquery
# per key, which read the row's arrays again for every key). Only what changed is written: rows no
# longer there are deleted (by the (widget_id, date) index, widget by widget; those of widgets with
# no row left went with it), new ones inserted, changed ones updated, equal ones left alone.
_WRITE_LISTS = """
WITH rows AS MATERIALIZED (
    SELECT widget_id, date, question_keys, question_counts, question_text_keys, question_texts,
           question_text_counts, gap_keys, gap_counts, gap_failed, gap_low_confidence, gap_thumbs_down,
           gap_last_at, gap_last_reply, gap_last_reply_at, gap_text_keys, gap_texts, gap_text_counts,
           topic_names, topic_counts
    FROM analytics WHERE date = ANY(%(days)s::date[])
),
question_texts AS (
    SELECT r.widget_id, r.date, u.i, array_agg(u.t ORDER BY u.o) AS texts, array_agg(u.c ORDER BY u.o) AS counts
    FROM rows r, unnest(r.question_text_keys, r.question_texts, r.question_text_counts) WITH ORDINALITY AS u(i, t, c, o)
    GROUP BY r.widget_id, r.date, u.i
),
gap_texts AS (
    SELECT r.widget_id, r.date, u.i, array_agg(u.t ORDER BY u.o) AS texts, array_agg(u.c ORDER BY u.o) AS counts
    FROM rows r, unnest(r.gap_text_keys, r.gap_texts, r.gap_text_counts) WITH ORDINALITY AS u(i, t, c, o)
    GROUP BY r.widget_id, r.date, u.i
),
new AS MATERIALIZED (
    SELECT r.widget_id, r.date, 'question' AS kind, q.key, q.n, coalesce(t.texts, '{}') AS texts,
           coalesce(t.counts, '{}') AS text_counts, NULL::int AS failed, NULL::int AS low_confidence,
           NULL::int AS thumbs_down, NULL::float8 AS last_at, NULL::text AS last_reply,
           NULL::float8 AS last_reply_at
    FROM rows r
    CROSS JOIN LATERAL unnest(r.question_keys, r.question_counts) WITH ORDINALITY AS q(key, n, i)
    LEFT JOIN question_texts t ON t.widget_id = r.widget_id AND t.date = r.date AND t.i = q.i
    UNION ALL
    SELECT r.widget_id, r.date, 'gap', g.key, g.n, coalesce(t.texts, '{}'), coalesce(t.counts, '{}'),
           g.failed, g.low_confidence, g.thumbs_down, g.last_at, g.last_reply, g.last_reply_at
    FROM rows r
    CROSS JOIN LATERAL unnest(r.gap_keys, r.gap_counts, r.gap_failed, r.gap_low_confidence, r.gap_thumbs_down,
                              r.gap_last_at, r.gap_last_reply, r.gap_last_reply_at) WITH ORDINALITY
        AS g(key, n, failed, low_confidence, thumbs_down, last_at, last_reply, last_reply_at, i)
    LEFT JOIN gap_texts t ON t.widget_id = r.widget_id AND t.date = r.date AND t.i = g.i
    UNION ALL
    SELECT r.widget_id, r.date, 'topic', t.key, t.n, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
    FROM rows r CROSS JOIN LATERAL unnest(r.topic_names, r.topic_counts) AS t(key, n)
),
old AS MATERIALIZED (
    SELECT l.* FROM rows r JOIN analytics_lists l ON l.widget_id = r.widget_id AND l.date = r.date
),
gone AS (
    DELETE FROM analytics_lists l USING old o
    WHERE l.widget_id = o.widget_id AND l.kind = o.kind AND l.key = o.key AND l.date = o.date
      AND NOT EXISTS (SELECT 1 FROM new n WHERE n.widget_id = o.widget_id AND n.date = o.date
                                            AND n.kind = o.kind AND n.key = o.key)
)
INSERT INTO analytics_lists (widget_id, date, kind, key, n, texts, text_counts, failed, low_confidence,
                             thumbs_down, last_at, last_reply, last_reply_at)
SELECT n.* FROM new n
LEFT JOIN old o ON o.widget_id = n.widget_id AND o.date = n.date AND o.kind = n.kind AND o.key = n.key
WHERE o.widget_id IS NULL
   OR (o.n, o.texts, o.text_counts, o.failed, o.low_confidence, o.thumbs_down, o.last_at, o.last_reply,
       o.last_reply_at)
      IS DISTINCT FROM (n.n, n.texts, n.text_counts, n.failed, n.low_confidence, n.thumbs_down, n.last_at,
                        n.last_reply, n.last_reply_at)
ON CONFLICT (widget_id, kind, key, date) DO UPDATE SET
    n = EXCLUDED.n, texts = EXCLUDED.texts, text_counts = EXCLUDED.text_counts, failed = EXCLUDED.failed,
    low_confidence = EXCLUDED.low_confidence, thumbs_down = EXCLUDED.thumbs_down, last_at = EXCLUDED.last_at,
    last_reply = EXCLUDED.last_reply, last_reply_at = EXCLUDED.last_reply_at
"""

# A widget's lists over stored days, in one statement: the stored counts of the questions, gaps and
# topics that rank once the live rows' counts (`live_*`, every key they have) are added (ties by key
# in code-point order, as the service sorts), then the wordings and gap details of only those that
# rank, by primary key (wordings unnested in the select list, which skips a function scan's
# tuplestore per row). The stored days come as single days (`days`, from analytics_lists) and whole
# blocks of days (`levels`, `firsts`, from analytics_list_blocks, 0021), each read from its index
# (widget, day or block) INCLUDE (kind, key, n) for the ranking.
# part 'count': (kind, key, n); 'text': (kind, key, text, n); 'gap': a gap's details.
_STORED_LISTS = """
WITH counts AS (
    SELECT kind, key, n, true AS stored
    FROM analytics_lists
    WHERE widget_id = %(id)s AND date BETWEEN %(first)s AND %(last)s AND date = ANY(%(days)s::date[])
    UNION ALL
    SELECT b.kind, b.key, b.n, true
    FROM unnest(%(levels)s::smallint[], %(firsts)s::date[]) AS p(level, first_day)
    JOIN analytics_list_blocks b ON b.widget_id = %(id)s AND b.level = p.level AND b.first_day = p.first_day
    UNION ALL
    SELECT l.kind, l.key, l.n, false
    FROM unnest(%(live_kinds)s::text[], %(live_keys)s::text[], %(live_counts)s::int[]) AS l(kind, key, n)
),
merged AS (
    SELECT kind, key, sum(n) AS total, sum(n) FILTER (WHERE stored)::int AS n FROM counts GROUP BY kind, key
),
ranked AS (
    SELECT kind, key, n,
           row_number() OVER (PARTITION BY kind ORDER BY total DESC, key COLLATE "C") AS rank
    FROM merged
),
ranking AS MATERIALIZED (
    SELECT r.kind, r.key, r.n
    FROM ranked r
    JOIN (VALUES ('question', %(question_top)s::int), ('gap', %(gap_top)s::int), ('topic', %(topic_top)s::int))
        AS k(kind, top) ON k.kind = r.kind AND r.rank <= k.top
    WHERE r.n IS NOT NULL
),
-- Every (key, block) pair, so that each block row is one probe of the primary key (planned from
-- `ranking` alone, the probes went by key and filtered every block the key has).
block_winners AS MATERIALIZED (
    SELECT r.kind, r.key, p.level, p.first_day
    FROM ranking r
    CROSS JOIN unnest(%(levels)s::smallint[], %(firsts)s::date[]) AS p(level, first_day)
    WHERE r.kind IN ('question', 'gap')
),
winners AS MATERIALIZED (
    SELECT l.kind, l.key, l.texts, l.text_counts, l.failed, l.low_confidence, l.thumbs_down, l.last_at,
           l.last_reply, l.last_reply_at
    FROM ranking r
    JOIN analytics_lists l
        ON l.widget_id = %(id)s AND l.kind = r.kind AND l.key = r.key
       AND l.date BETWEEN %(first)s AND %(last)s AND l.date = ANY(%(days)s::date[])
    WHERE r.kind IN ('question', 'gap')
    UNION ALL
    SELECT b.kind, b.key, b.texts, b.text_counts, b.failed, b.low_confidence, b.thumbs_down, b.last_at,
           b.last_reply, b.last_reply_at
    FROM block_winners r
    JOIN analytics_list_blocks b
        ON b.widget_id = %(id)s AND b.kind = r.kind AND b.key = r.key AND b.level = r.level
       AND b.first_day = r.first_day
)
SELECT 'count' AS part, kind, key, NULL::text AS text, n, NULL::int AS failed, NULL::int AS low_confidence,
       NULL::int AS thumbs_down, NULL::float8 AS last_at, NULL::text AS last_reply, NULL::float8 AS last_reply_at
FROM ranking
UNION ALL
SELECT 'text', u.kind, u.key, u.text, sum(u.n)::int, NULL, NULL, NULL, NULL, NULL, NULL
FROM (SELECT kind, key, unnest(texts) AS text, unnest(text_counts) AS n FROM winners) u
GROUP BY u.kind, u.key, u.text
UNION ALL
SELECT 'gap', 'gap', w.key, NULL, NULL, sum(w.failed)::int, sum(w.low_confidence)::int, sum(w.thumbs_down)::int,
       max(w.last_at),
       (array_agg(w.last_reply ORDER BY w.last_reply_at DESC) FILTER (WHERE w.last_reply_at IS NOT NULL))[1],
       max(w.last_reply_at)
FROM winners w
WHERE w.kind = 'gap'
GROUP BY w.key
"""

# Blocks of days whose lists are kept summed (0021): 2^level days from a multiple of 2^level days
# after EPOCH, for these levels (8 to 128 days; smaller blocks hold nearly as many entries as their
# days, so they would save a read little).
LIST_BLOCK_LEVELS = (3, 4, 5, 6, 7)
EPOCH = date(1970, 1, 1)

# The blocks to build: at each level those every one of whose days is rolled up (a block with a
# day not rolled up, a future one say, is never read whole) and that are not listed as built, and
# those stale for some widget (lowest level first, then oldest first).
_MISSING_LIST_BLOCKS = """
SELECT level, first_day FROM (
    SELECT lv.level, b.first_day
    FROM unnest(%(levels)s::smallint[]) AS lv(level)
    CROSS JOIN LATERAL (
        SELECT DATE '1970-01-01' + ((r.date - DATE '1970-01-01') / (1 << lv.level)) * (1 << lv.level) AS first_day
        FROM analytics_rollup_days r
        WHERE r.covered_until IS NOT NULL
        GROUP BY 1
        HAVING count(*) = 1 << lv.level
    ) b
    WHERE NOT EXISTS (SELECT 1 FROM analytics_list_block_spans s WHERE s.level = lv.level AND s.first_day = b.first_day)
    UNION
    SELECT level, first_day FROM analytics_list_block_stale
) m
ORDER BY level, first_day
"""

# What block `first` sums, per widget (each widget's rows by its index, never a scan of the table):
# its days' list rows (the lowest level) or its two halves' block rows; every widget, or `widgets`.
_BLOCK_PARTS = """
SELECT w.id AS widget_id, p.kind, p.key, p.n, p.texts, p.text_counts, p.failed, p.low_confidence,
       p.thumbs_down, p.last_at, p.last_reply, p.last_reply_at
FROM widgets w
CROSS JOIN LATERAL (
    SELECT * FROM {rows}
    OFFSET 0  -- kept apart, so it stays one index scan per widget (joined, it was planned as a scan)
) p
WHERE %(widgets)s::uuid[] IS NULL OR w.id = ANY(%(widgets)s::uuid[])
"""
_BLOCK_DAYS = _BLOCK_PARTS.format(
    rows="analytics_lists l WHERE l.widget_id = w.id AND l.date >= %(first)s AND l.date < %(first)s + %(size)s"
)
_BLOCK_HALVES = _BLOCK_PARTS.format(
    rows="analytics_list_blocks b WHERE b.widget_id = w.id AND b.level = %(level)s - 1 "
    "AND b.first_day IN (%(first)s, %(first)s + %(size)s / 2)"
)

# Block (`level`, `first`) of these widgets: the exact sums of its parts' rows (every wording kept,
# most frequent first; a gap's latest answered reply from its latest part that has one).
# Wordings unnested in the select list (a function scan per part row cost twice as much).
_BUILD_LIST_BLOCKS = """
WITH parts AS MATERIALIZED ({parts}),
texts AS (
    SELECT widget_id, kind, key, array_agg(t ORDER BY n DESC, t) AS texts,
           array_agg(n ORDER BY n DESC, t) AS text_counts
    FROM (SELECT widget_id, kind, key, t, sum(n)::int AS n
          FROM (SELECT widget_id, kind, key, unnest(texts) AS t, unnest(text_counts) AS n
                FROM parts WHERE kind <> 'topic') u
          GROUP BY widget_id, kind, key, t) w
    GROUP BY widget_id, kind, key
),
sums AS (
    SELECT widget_id, kind, key, sum(n)::int AS n, sum(failed)::int AS failed,
           sum(low_confidence)::int AS low_confidence, sum(thumbs_down)::int AS thumbs_down,
           max(last_at) AS last_at,
           (array_agg(last_reply ORDER BY last_reply_at DESC) FILTER (WHERE last_reply_at IS NOT NULL))[1]
               AS last_reply,
           max(last_reply_at) AS last_reply_at
    FROM parts GROUP BY widget_id, kind, key
)
INSERT INTO analytics_list_blocks (widget_id, level, first_day, kind, key, n, texts, text_counts, failed,
                                   low_confidence, thumbs_down, last_at, last_reply, last_reply_at)
SELECT s.widget_id, %(level)s, %(first)s, s.kind, s.key, s.n,
       CASE WHEN s.kind <> 'topic' THEN coalesce(t.texts, '{{}}') END,
       CASE WHEN s.kind <> 'topic' THEN coalesce(t.text_counts, '{{}}') END,
       s.failed, s.low_confidence, s.thumbs_down, s.last_at, s.last_reply, s.last_reply_at
FROM sums s
LEFT JOIN texts t USING (widget_id, kind, key)
"""
_BUILD_FROM_DAYS = _BUILD_LIST_BLOCKS.format(parts=_BLOCK_DAYS)
_BUILD_FROM_HALVES = _BUILD_LIST_BLOCKS.format(parts=_BLOCK_HALVES)


# A ranked list's wordings flat (`_COMPUTE`'s question_text_lists and gap_text_lists): the top
# KEEP_TEXTS wordings of each of the top KEEP_QUESTIONS keys, each with its key's 1-based rank.
_TEXT_LISTS = """{prefix}_text_lists AS (
    SELECT r.widget_id, r.day,
           array_agg(r.rank ORDER BY r.rank, w.n DESC, w.message) AS {prefix}_text_keys,
           array_agg(w.message ORDER BY r.rank, w.n DESC, w.message) AS {prefix}_texts,
           array_agg(w.n ORDER BY r.rank, w.n DESC, w.message) AS {prefix}_text_counts
    FROM {prefix}_ranked r
    JOIN (SELECT *, row_number() OVER (PARTITION BY widget_id, day, question ORDER BY n DESC, message) AS t
          FROM {wordings}) w USING (widget_id, day, question)
    WHERE r.rank <= {keep_questions} AND w.t <= {keep_texts}
    GROUP BY r.widget_id, r.day
)"""


def _compute_sql() -> str:
    def text_lists(prefix: str, wordings: str) -> str:
        return _TEXT_LISTS.format(
            prefix=prefix, wordings=wordings, keep_questions=KEEP_QUESTIONS, keep_texts=KEEP_TEXTS
        )

    return _COMPUTE.format(
        bucket=_BUCKET,
        keep_questions=KEEP_QUESTIONS,
        keep_topics=KEEP_TOPICS,
        keep_texts=KEEP_TEXTS,
        question_text_lists=text_lists("question", "wordings"),
        gap_text_lists=text_lists("gap", "gap_wordings"),
    )


# Built once (from constants only): the computing query, the rollup's upsert around it, and the
# query's own hash, part of every day's fingerprint (a changed query recomputes).
_COMPUTE_SQL = _compute_sql()
_UPSERT_SQL = _UPSERT.format(compute=_COMPUTE_SQL)
# The same in two steps (upsert_days' `compute_unlocked`): the days' rows computed into a temporary
# table first, without the rollup's lock, then upserted from it under the lock.
_COMPUTE_INTO_SQL = f"CREATE TEMPORARY TABLE rollup_computed ON COMMIT DROP AS {_COMPUTE_SQL}"
_UPSERT_COMPUTED_SQL = _UPSERT.format(compute="SELECT * FROM rollup_computed")
_COMPUTE_HASH = hashlib.sha256(_COMPUTE_SQL.encode()).hexdigest()


def _segment_params(segments: Sequence[Segment]) -> dict[str, Any]:
    return {
        "seg_days": [s.day for s in segments],
        "seg_los": [s.lo for s in segments],
        "seg_his": [s.hi for s in segments],
    }


async def compute_rows(
    conn: Conn, *, segments: Sequence[Segment], tz: str, widget_ids: Sequence[UUID] | None
) -> list[RollupRow]:
    """Rows computed live from chat logs, one per widget and segment label that has messages, with
    hours in `tz` wall-clock time (the rollup's own query, without writing)."""
    if not segments:
        return []
    cur = await conn.execute(
        _COMPUTE_SQL,
        {
            **_segment_params(segments),
            "tz": tz,
            "widget_ids": list(widget_ids) if widget_ids is not None else None,
        },
    )
    return [RollupRow.from_row(row) for row in await cur.fetchall()]


async def _days_histograms(conn: Conn, days: Sequence[date]) -> dict[str, list[Any]]:
    cur = await conn.execute(
        "SELECT coalesce(array_agg(d.widget_id), '{}') AS w, coalesce(array_agg(u.b), '{}') AS b, "
        "coalesce(array_agg(u.n), '{}') AS n "
        "FROM analytics d, unnest(d.response_buckets, d.response_bucket_counts) AS u(b, n) "
        "WHERE d.date = ANY(%(days)s::date[])",
        {"days": list(days)},
    )
    row = await cur.fetchone()
    assert row is not None
    return {"old_w": row["w"], "old_b": row["b"], "old_n": row["n"]}


# Memory for the rollup's sorts and hashes (a day at 5 million logs sorts ~30,000 rows several
# times; the default 4 MB spills part of them to disk).
_ROLLUP_WORK_MEM = "64MB"


# What a day's rows depend on, hashed per day over its covered window [lo, cut): its logs' ids and
# row versions (a log written, deleted or given feedback changes it), the widgets' low-confidence
# thresholds and (`query`) the computing query's text. Only for days from `from` on (yesterday and
# today, the days a scheduled run looks at); NULL (recompute) for older ones and when `from` is NULL.
_FINGERPRINTS = """
SELECT w.day,
       CASE WHEN f.n IS NOT NULL THEN md5(concat_ws('|', %(query)s::text, f.n, f.h, t.h)) END AS fingerprint,
       r.fingerprint AS stored
FROM unnest(%(days)s::date[], %(los)s::timestamptz[], %(cuts)s::timestamptz[]) AS w(day, lo, cut)
LEFT JOIN LATERAL (
    SELECT count(*) AS n, coalesce(sum(hashtext(c.id::text || ':' || c.xmin::text)), 0) AS h
    FROM chat_logs c WHERE c.created_at >= w.lo AND c.created_at < w.cut
) f ON w.day >= %(from)s::date
CROSS JOIN (
    SELECT md5(coalesce(string_agg(id::text || '=' || coalesce(config ->> 'low_confidence_threshold', ''), ','
                                   ORDER BY id), '')) AS h
    FROM widgets
) t
LEFT JOIN analytics_rollup_days r ON r.date = w.day
ORDER BY w.day
"""


async def upsert_days(
    conn: Conn,
    *,
    days: Sequence[date],
    settle_margin: timedelta,
    skip_unchanged: bool = False,
    fingerprint_from: date | None = None,
    compute_unlocked: bool = False,
) -> tuple[int, int]:
    """Roll up the UTC days `days` for every widget in one transaction (rows written, stale rows
    deleted): each day over [its start, the earlier of its end and `settle_margin` before now), all
    days in one statement; then the days' list rows, the widgets' running response-time histograms
    (each day's, in date order, then the rows after the last day moved once by how much the days
    changed), and how far each day is covered, with the fingerprints (_FINGERPRINTS) of the days
    from `fingerprint_from` on. With `skip_unchanged`, a day whose fingerprint is the one stored by
    its last rollup is not computed again, only its cover moves (its rows are what computing it
    again would give). Rollups queue on one lock (the running
    totals chain the days), and runs over the same days give the same rows.

    With `compute_unlocked` (a backfill's settled days: no fingerprint, nothing skipped), the days'
    rows are computed before the lock is taken, into a temporary table, so that another day can be
    computed meanwhile while this one waits to be written; the running totals come out the same
    whatever order the days are written in (a day written before an earlier one is moved by how
    much that one changed, as an earlier day rolled up again moves the later ones)."""
    days = sorted(set(days))
    if not days:
        return 0, 0
    assert not (compute_unlocked and (skip_unchanged or fingerprint_from is not None))
    async with conn.transaction():
        await conn.execute(f"SET LOCAL work_mem = '{_ROLLUP_WORK_MEM}'")  # a constant
        cur = await conn.execute(
            "SELECT s.day, s.lo, least(s.lo + interval '1 day', greatest(s.lo, now() - %(margin)s::interval)) AS cut "
            "FROM (SELECT d AS day, (d::timestamp AT TIME ZONE 'UTC') AS lo "
            "      FROM unnest(%(days)s::date[]) AS d) s ORDER BY s.day",
            {"days": days, "margin": settle_margin},
        )
        windows = await cur.fetchall()
        if compute_unlocked:
            await conn.execute(_COMPUTE_INTO_SQL, _compute_params(windows))
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('analytics_rollup'), 0)")
        # Before computing: a log that lands after this is in the next run's fingerprint, not in this one's.
        cur = await conn.execute(
            _FINGERPRINTS,
            {
                "query": _COMPUTE_HASH,
                "from": fingerprint_from,
                "days": days,
                "los": [w["lo"] for w in windows],
                "cuts": [w["cut"] for w in windows],
            },
        )
        fingerprints = await cur.fetchall()
        todo = [
            f["day"]
            for f in fingerprints
            if not skip_unchanged or f["fingerprint"] is None or f["stored"] != f["fingerprint"]
        ]
        counts = {"written": 0, "deleted": 0}
        if todo:
            counts = await _recompute(
                conn, todo, [w for w in windows if w["day"] in todo], computed=compute_unlocked
            )
        await conn.execute(
            "INSERT INTO analytics_rollup_days (date, rolled_up_at, covered_until, fingerprint) "
            "SELECT d, now(), c, f FROM unnest(%(days)s::date[], %(cuts)s::timestamptz[], %(fingerprints)s::text[]) "
            "    AS u(d, c, f) "
            "ON CONFLICT (date) DO UPDATE SET rolled_up_at = EXCLUDED.rolled_up_at, "
            "covered_until = EXCLUDED.covered_until, fingerprint = EXCLUDED.fingerprint",
            {
                "days": [w["day"] for w in windows],
                "cuts": [w["cut"] for w in windows],
                "fingerprints": [f["fingerprint"] for f in fingerprints],
            },
        )
    return int(counts["written"]), int(counts["deleted"])


def _compute_params(windows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The computing query's parameters for upsert_days' windows (UTC days, every widget)."""
    return {
        **_segment_params([Segment(w["day"], w["lo"], w["cut"]) for w in windows]),
        "tz": "UTC",
        "widget_ids": None,
    }


async def _recompute(
    conn: Conn, days: list[date], windows: list[dict[str, Any]], *, computed: bool
) -> dict[str, Any]:
    """upsert_days' writing part, inside its transaction and lock: the days' rows (computed now, or
    already into `rollup_computed`), list rows and running histograms, and the running histograms
    of the rows after them."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM analytics WHERE date > %(last)s) AS later", {"last": days[-1]}
    )
    later = await cur.fetchone()
    assert later is not None
    old = await _days_histograms(conn, days) if later["later"] else None
    if computed:
        cur = await conn.execute(_UPSERT_COMPUTED_SQL, {"days": days})
    else:
        cur = await conn.execute(_UPSERT_SQL, {**_compute_params(windows), "days": days})
    counts = await cur.fetchone()
    assert counts is not None
    await conn.execute(_WRITE_LISTS, {"days": days})
    for n in range((days[-1] - days[0]).days + 1):  # every day between, in order
        await conn.execute(_CUMULATIVE_DAY, {"day": days[0] + timedelta(days=n)})
    if old is not None:
        await conn.execute(_CUMULATIVE_LATER, {**old, "days": days, "last": days[-1]})
    return counts


async def analyze_rollup_tables(conn: Conn) -> None:
    """Refresh the planner's statistics of the tables a backfill filled, rather than plan with
    whatever autovacuum sampled while they were being filled (once, right after a backfill from
    nothing, 90-day reads took 300-500 ms for 13 s and the next rollups 1.1 s, then 25 ms again;
    statistics not yet refreshed are the likely cause)."""
    await conn.execute("ANALYZE analytics, analytics_lists, analytics_list_blocks, analytics_rollup_days")


async def missing_list_blocks(conn: Conn) -> list[tuple[int, date]]:
    """The blocks of lists (level, first day) to build: those every one of whose days is rolled up
    and which are not listed as built, and those stale for some widget (each level's oldest first,
    the lowest level first)."""
    cur = await conn.execute(_MISSING_LIST_BLOCKS, {"levels": list(LIST_BLOCK_LEVELS)})
    return [(row["level"], row["first_day"]) for row in await cur.fetchall()]


async def build_list_block(conn: Conn, *, level: int, first_day: date) -> int | None:
    """Build one block of lists and list it, in one transaction: for every widget when it is not
    listed yet, else for the widgets it is stale for (None when there are none). A block above the
    lowest level is built from its two halves, only when both are listed and fresh (else None:
    nothing done). Returns the rows written. No list row changes meanwhile: the transaction waits
    for a rollup to end (its lock, taken here shared: blocks are built side by side) and holds back
    every writer of day lists (a SHARE lock on them)."""
    size = 1 << level
    block = {"level": level, "first": first_day}
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock_shared(hashtext('analytics_rollup'), 0)")
        await conn.execute("LOCK TABLE analytics_lists IN SHARE MODE")
        await conn.execute(f"SET LOCAL work_mem = '{_ROLLUP_WORK_MEM}'")  # a constant
        if level > LIST_BLOCK_LEVELS[0]:
            cur = await conn.execute(
                "SELECT count(*) AS listed, "
                "       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM analytics_list_block_stale x "
                "                                      WHERE x.level = s.level AND x.first_day = s.first_day)) AS stale "
                "FROM analytics_list_block_spans s "
                "WHERE s.level = %(level)s - 1 AND s.first_day IN (%(first)s, %(first)s + %(half)s)",
                {**block, "half": size // 2},
            )
            halves = await cur.fetchone()
            if halves is None or halves["listed"] < 2 or halves["stale"]:
                return None
        # Listed (or its stale marks taken) first, so that a second build of the same block waits
        # here for this one to commit, then finds nothing to do.
        cur = await conn.execute(
            "INSERT INTO analytics_list_block_spans (level, first_day) VALUES (%(level)s, %(first)s) "
            "ON CONFLICT (level, first_day) DO NOTHING RETURNING level",
            block,
        )
        widgets: list[UUID] | None = None  # every widget
        if await cur.fetchone() is None:
            cur = await conn.execute(
                "DELETE FROM analytics_list_block_stale WHERE level = %(level)s AND first_day = %(first)s "
                "RETURNING widget_id",
                block,
            )
            widgets = [row["widget_id"] for row in await cur.fetchall()]
            if not widgets:
                return None
        await conn.execute(
            "DELETE FROM analytics_list_blocks b USING widgets w "
            "WHERE b.widget_id = w.id AND b.level = %(level)s AND b.first_day = %(first)s "
            "AND (%(widgets)s::uuid[] IS NULL OR w.id = ANY(%(widgets)s::uuid[]))",
            {**block, "widgets": widgets},
        )
        cur = await conn.execute(
            _BUILD_FROM_DAYS if level == LIST_BLOCK_LEVELS[0] else _BUILD_FROM_HALVES,
            {**block, "size": size, "widgets": widgets},
        )
        return cur.rowcount


# A block listed as built that starts in the range and is stale for none of the widgets `ids`.
_FRESH_BLOCK = (
    "s.first_day BETWEEN %(first)s AND %(last)s AND NOT EXISTS (SELECT 1 FROM analytics_list_block_stale x "
    "WHERE x.widget_id = ANY(%(ids)s::uuid[]) AND x.level = s.level AND x.first_day = s.first_day)"
)

# How far each UTC day from `first` to `last` is covered, and the latest log of widgets `ids` in
# [start, end) (one backward index probe each).
_COVER = (
    "coalesce((SELECT array_agg(date ORDER BY date) FROM analytics_rollup_days "
    "          WHERE date BETWEEN %(first)s AND %(last)s AND covered_until IS NOT NULL), '{}') AS days, "
    "coalesce((SELECT array_agg(covered_until ORDER BY date) FROM analytics_rollup_days "
    "          WHERE date BETWEEN %(first)s AND %(last)s AND covered_until IS NOT NULL), '{}') AS untils, "
    "(SELECT max(l.created_at) FROM unnest(%(ids)s::uuid[]) AS w(id) "
    " CROSS JOIN LATERAL (SELECT c.created_at FROM chat_logs c WHERE c.widget_id = w.id "
    " AND c.created_at >= %(start)s AND c.created_at < %(end)s ORDER BY c.created_at DESC LIMIT 1) l) AS latest"
)
# The same and the range's fresh blocks of lists, for the one read that reads lists (one widget's).
_COVER_WITH_BLOCKS = (
    f"{_COVER}, "
    "coalesce((SELECT array_agg(level ORDER BY level, first_day) FROM analytics_list_block_spans s "
    f"          WHERE {_FRESH_BLOCK}), '{{}}') AS block_levels, "
    "coalesce((SELECT array_agg(first_day ORDER BY level, first_day) FROM analytics_list_block_spans s "
    f"          WHERE {_FRESH_BLOCK}), '{{}}') AS block_firsts"
)


class Cover(NamedTuple):
    """What of a range the stored rows hold: how far each UTC day is covered, the range's latest
    log, and (`widget_with_cover` only) the blocks of lists (level, first day) that start in it,
    built and not stale for the widget."""

    covered: dict[date, datetime]
    latest: datetime | None
    blocks: frozenset[tuple[int, date]]


def _cover_params(
    first: date, last: date, widget_ids: Sequence[UUID], start: datetime, end: datetime
) -> dict[str, Any]:
    return {"first": first, "last": last, "ids": list(widget_ids), "start": start, "end": end}


def _cover_of(row: Mapping[str, Any], *, blocks: bool = False) -> Cover:
    return Cover(
        dict(zip(row["days"], row["untils"], strict=True)),
        row["latest"],
        frozenset(zip(row["block_levels"], row["block_firsts"], strict=True)) if blocks else frozenset(),
    )


async def covered_days(
    conn: Conn, *, first: date, last: date, widget_ids: Sequence[UUID], start: datetime, end: datetime
) -> Cover:
    """How far each UTC day from `first` to `last` is covered by stored rows (`[day, covered_until)`;
    days never rolled up are absent), and the latest chat log of these widgets in [start, end) or
    None (one backward index probe each), in one statement."""
    cur = await conn.execute(f"SELECT {_COVER}", _cover_params(first, last, widget_ids, start, end))
    row = await cur.fetchone()
    assert row is not None
    return _cover_of(row)


async def widget_with_cover(
    conn: Conn, *, widget_id: UUID, first: date, last: date, start: datetime, end: datetime
) -> tuple[WidgetRef | None, Cover]:
    """The fields of a widget an analytics answer names (None when there is no such widget), and
    covered_days for it with the range's blocks of lists, in one statement."""
    cur = await conn.execute(
        "SELECT w.id, w.client_id, w.name, w.is_active, w.is_demo, c.* "
        f"FROM (SELECT {_COVER_WITH_BLOCKS}) c LEFT JOIN widgets w ON w.id = %(id)s",
        {**_cover_params(first, last, [widget_id], start, end), "id": widget_id},
    )
    row = await cur.fetchone()
    assert row is not None
    widget = None
    if row["id"] is not None:
        widget = WidgetRef.model_validate({name: row[name] for name in WidgetRef.model_fields})
    return widget, _cover_of(row, blocks=True)


async def stored_counters(
    conn: Conn, *, widget_ids: Sequence[UUID], days: Sequence[date], tz: str
) -> list[dict[str, Any]]:
    """The stored days' counters per widget and local day in `tz` (`weekday` and `hour` None), and
    their messages per weekday (Monday 0) and local hour (`day` None)."""
    cur = await conn.execute(_STORED_COUNTERS, {"ids": list(widget_ids), "days": list(days), "tz": tz})
    return await cur.fetchall()


@dataclass
class StoredUtc:
    """What a UTC read takes from the stored days (`stored_utc`)."""

    # Per widget and day: the _COUNTERS, p95_bucket, buckets and counts, and hour_messages (24 cells).
    days: list[dict[str, Any]]
    ranges: dict[UUID, tuple[list[int], list[int]]]  # widget -> histogram over the days (with `range`)


def _utc_params(
    widget_ids: Sequence[UUID], days: Sequence[date], mixed: Sequence[date], range_: bool
) -> dict[str, Any]:
    return {
        "ids": list(widget_ids),
        "days": list(days),
        "mixed": list(mixed),
        "first": min(days),
        "last": max(days),
        "range": range_,
    }


def _stored_utc_of(rows: Sequence[dict[str, Any]]) -> StoredUtc:
    result = StoredUtc([], {})
    for row in rows:
        if row["day"] is None:
            result.ranges[row["widget_id"]] = (row["buckets"], row["counts"])
        else:
            result.days.append(row)
    return result


async def stored_utc(
    conn: Conn, *, widget_ids: Sequence[UUID], days: Sequence[date], mixed: Sequence[date], range_: bool
) -> StoredUtc:
    """The stored UTC days `days` of these widgets in one statement: each day's counters, p95 bucket,
    hourly messages and (for the `mixed` days) histogram, and with `range_` each widget's histogram
    over all of them."""
    cur = await conn.execute(
        _STORED_UTC_DAYS.format(range=_RANGE_HISTOGRAMS), _utc_params(widget_ids, days, mixed, range_)
    )
    return _stored_utc_of(await cur.fetchall())


async def stored_histograms(
    conn: Conn,
    *,
    widget_ids: Sequence[UUID],
    days: Sequence[date],
    tz: str,
    local_days: Sequence[date],
    mixed: Sequence[date],
) -> list[dict[str, Any]]:
    """Per widget and local day in `local_days`: the p95 bucket of the stored hours of `days`, or
    (for the `mixed` local days) their histogram."""
    cur = await conn.execute(
        _STORED_HISTOGRAMS,
        {
            "ids": list(widget_ids),
            "days": list(days),
            "tz": tz,
            "local_days": list(local_days),
            "mixed": list(mixed),
        },
    )
    return await cur.fetchall()


async def range_histograms(
    conn: Conn, *, widget_ids: Sequence[UUID], days: Sequence[date]
) -> dict[UUID, tuple[list[int], list[int]]]:
    """Each widget's response-time histogram (buckets, counts) over the stored days `days`."""
    cur = await conn.execute(
        _RANGE_HISTOGRAMS,
        {"ids": list(widget_ids), "days": list(days), "first": min(days), "last": max(days)},
    )
    return {row["widget_id"]: (row["buckets"], row["counts"]) for row in await cur.fetchall()}


def list_pieces(
    days: Sequence[date], listed: Collection[tuple[int, date]]
) -> tuple[list[date], list[tuple[int, date]]]:
    """The stored days `days` as single days and listed blocks of lists (level, first day): from the
    earliest day on, the largest listed block starting there all of whose days are in `days`, else
    the day alone. A 90-day range is then ~5 blocks and up to 14 days instead of 90 days."""
    stored = set(days)
    ordered = sorted(stored)
    singles: list[date] = []
    blocks: list[tuple[int, date]] = []
    i = 0
    while i < len(ordered):
        day = ordered[i]
        offset = (day - EPOCH).days
        for level in reversed(LIST_BLOCK_LEVELS):
            size = 1 << level
            if (
                offset % size == 0
                and (level, day) in listed
                and all(day + timedelta(days=n) in stored for n in range(1, size))
            ):
                blocks.append((level, day))
                i += size  # its days are the next `size` of `ordered`
                break
        else:
            singles.append(day)
            i += 1
    return singles, blocks


def _lists_params(
    widget_id: UUID,
    days: Sequence[date],
    listed: Collection[tuple[int, date]],
    tops: Mapping[str, int],
    live: Sequence[tuple[str, str, int]],
) -> dict[str, Any]:
    singles, blocks = list_pieces(days, listed)
    params: dict[str, Any] = {
        "id": widget_id,
        "days": singles,
        "first": min(singles, default=None),
        "last": max(singles, default=None),
        "levels": [level for level, _ in blocks],
        "firsts": [first for _, first in blocks],
        "live_kinds": [kind for kind, _, _ in live],
        "live_keys": [key for _, key, _ in live],
        "live_counts": [n for _, _, n in live],
    }
    for kind in ("question", "gap", "topic"):
        params[f"{kind}_top"] = tops[kind]
    return params


async def stored_lists(
    conn: Conn,
    *,
    widget_id: UUID,
    days: Sequence[date],
    listed: Collection[tuple[int, date]],
    tops: Mapping[str, int],
    live: Sequence[tuple[str, str, int]],
) -> list[dict[str, Any]]:
    """The stored days' part of a widget's lists, given every (kind, key, count) of its live rows and
    the blocks of lists `listed` as built (`Cover.blocks`; the days are read through the blocks that
    fit, `list_pieces`): rows ('count', kind, key, n) for the keys among the first `tops[kind]` of
    kinds 'question', 'gap', 'topic'; ('text', kind, key, text, n) their wordings; ('gap', 'gap',
    key, ...) the reasons, last time asked (epoch seconds) and latest answered reply of the gaps
    that rank."""
    if not days:
        return []  # only stored counts rank here
    cur = await conn.execute(_STORED_LISTS, _lists_params(widget_id, days, listed, tops, live))
    return await cur.fetchall()


async def stored_utc_with_lists(
    conn: Conn,
    *,
    widget_id: UUID,
    days: Sequence[date],
    mixed: Sequence[date],
    listed: Collection[tuple[int, date]],
    tops: Mapping[str, int],
    live: Sequence[tuple[str, str, int]],
) -> tuple[StoredUtc, list[dict[str, Any]]]:
    """stored_utc (with the range histogram) and stored_lists of one widget, sent together in one
    round trip (pipeline mode)."""
    async with conn.pipeline():
        days_cur = await conn.execute(
            _STORED_UTC_DAYS.format(range=_RANGE_HISTOGRAMS), _utc_params([widget_id], days, mixed, True)
        )
        lists_cur = await conn.execute(_STORED_LISTS, _lists_params(widget_id, days, listed, tops, live))
    return _stored_utc_of(await days_cur.fetchall()), await lists_cur.fetchall()


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
    """A read-only transaction on `conn`: any write inside it fails (DESIGN.md "Analytics"). Its
    statements all read one snapshot (repeatable read), so the cover, the blocks listed in it, the
    stored days and the lists are those of one moment, whatever a rollup commits meanwhile (a
    read-only transaction never fails to serialize)."""
    await conn.set_read_only(True)  # BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY: no statement of its own
    await conn.set_isolation_level(psycopg.IsolationLevel.REPEATABLE_READ)
    try:
        async with conn.transaction():
            yield conn
    finally:
        with contextlib.suppress(psycopg.Error):  # a broken connection is dropped anyway
            await conn.set_read_only(None)
            await conn.set_isolation_level(None)


async def list_days(conn: Conn, *, widget_id: UUID, start: date, end: date) -> list[AnalyticsDay]:
    """The widget's daily rollups from `start` to `end` inclusive, oldest first."""
    cur = await conn.execute(
        f"SELECT {_COLUMNS} FROM analytics "
        "WHERE widget_id = %(widget_id)s AND date BETWEEN %(start)s AND %(end)s ORDER BY date",
        {"widget_id": widget_id, "start": start, "end": end},
    )
    return [AnalyticsDay.model_validate(row) for row in await cur.fetchall()]
