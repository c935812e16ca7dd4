-- Analytics speed (issue #11; README "Analytics"): what the rollup and the reads need so that a read
-- costs the same whatever the size of chat_logs.

-- The question a message asks (shared/services/questions.py: the same patterns and steps as
-- `normalise` and `SQL_TEMPLATE`; tests/integration/test_rollup.py checks that the three agree),
-- computed once when a log is written instead of at every rollup and read.
CREATE FUNCTION chat_question(message TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN left(btrim(regexp_replace(regexp_replace(regexp_replace(
        ' ' || regexp_replace(regexp_replace(lower(regexp_replace(normalize(message, NFD),
        E'[\u0300-\u036f]', '', 'g')),
        E'[!-/:-@\\[-`{-~\u00a1-\u00bf\u00d7\u00f7\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]', ' ', 'g'),
        E'[\\s\u00a0\u2000-\u200b\u3000]+', ' ', 'g') || ' ',
        E' (?:the|a|an)(?= )', '', 'g'),
        E'(?: (?:please|pls|plz|thanks|thank you|thank u|thx|ty|cheers|danke|bitte|merci))+ +$', ' ', 'g'),
        E'[\\s\u00a0\u2000-\u200b\u3000]+', ' ', 'g')), 300);

ALTER TABLE chat_logs ADD COLUMN question_key TEXT GENERATED ALWAYS AS (chat_question(message)) STORED;

-- The nearest-rank 95th percentile bucket of a sparse histogram (as services.analytics.p95 ranks).
CREATE FUNCTION analytics_p95_bucket(buckets INT[], counts INT[]) RETURNS INT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT b FROM (SELECT b, sum(n) OVER (ORDER BY b) AS running, sum(n) OVER () AS total
                           FROM unnest(buckets, counts) AS u(b, n)) s
            WHERE running >= ceil(0.95::float8 * total::float8) ORDER BY b LIMIT 1);

ALTER TABLE analytics
    -- The day's own p95 bucket, so a UTC read of a stored day needs not its histogram.
    ADD COLUMN p95_bucket INT,
    -- The widget's response-time histogram over every stored day up to and including this one, so a
    -- range's histogram is the difference of two rows whatever its length (kept by the rollup).
    ADD COLUMN cumulative_buckets INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN cumulative_counts BIGINT[] NOT NULL DEFAULT '{}',
    -- top_questions, knowledge_gaps and top_topics again as arrays in the same order (wordings flat,
    -- each with the 1-based place of its key), so a read merges a range's lists without JSON.
    ADD COLUMN question_keys TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN question_counts INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN question_text_keys INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN question_texts TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN question_text_counts INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_keys TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_counts INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_failed INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_low_confidence INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_thumbs_down INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_last_at FLOAT8[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_last_reply TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_last_reply_at FLOAT8[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_text_keys INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_texts TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN gap_text_counts INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN topic_names TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN topic_counts INT[] NOT NULL DEFAULT '{}';

UPDATE analytics a SET
    p95_bucket = analytics_p95_bucket(a.response_buckets, a.response_bucket_counts),
    question_keys = ARRAY(SELECT e ->> 'key' FROM jsonb_array_elements(a.top_questions) WITH ORDINALITY AS x(e, i) ORDER BY i),
    question_counts = ARRAY(SELECT (e ->> 'count')::int FROM jsonb_array_elements(a.top_questions) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_keys = ARRAY(SELECT e ->> 'key' FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_counts = ARRAY(SELECT (e ->> 'count')::int FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    question_text_keys = ARRAY(SELECT i FROM jsonb_array_elements(a.top_questions) WITH ORDINALITY AS x(e, i),
                               jsonb_array_elements(e -> 'texts') WITH ORDINALITY AS t(w, j) ORDER BY i, j),
    question_texts = ARRAY(SELECT w ->> 0 FROM jsonb_array_elements(a.top_questions) WITH ORDINALITY AS x(e, i),
                           jsonb_array_elements(e -> 'texts') WITH ORDINALITY AS t(w, j) ORDER BY i, j),
    question_text_counts = ARRAY(SELECT (w ->> 1)::int FROM jsonb_array_elements(a.top_questions) WITH ORDINALITY AS x(e, i),
                                 jsonb_array_elements(e -> 'texts') WITH ORDINALITY AS t(w, j) ORDER BY i, j),
    gap_failed = ARRAY(SELECT (e ->> 'failed')::int FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_low_confidence = ARRAY(SELECT (e ->> 'low_confidence')::int FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_thumbs_down = ARRAY(SELECT (e ->> 'thumbs_down')::int FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_last_at = ARRAY(SELECT (e ->> 'last_at')::float8 FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_last_reply = ARRAY(SELECT e ->> 'last_reply' FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_last_reply_at = ARRAY(SELECT (e ->> 'last_reply_at')::float8 FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i) ORDER BY i),
    gap_text_keys = ARRAY(SELECT i FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i),
                          jsonb_array_elements(e -> 'texts') WITH ORDINALITY AS t(w, j) ORDER BY i, j),
    gap_texts = ARRAY(SELECT w ->> 0 FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i),
                      jsonb_array_elements(e -> 'texts') WITH ORDINALITY AS t(w, j) ORDER BY i, j),
    gap_text_counts = ARRAY(SELECT (w ->> 1)::int FROM jsonb_array_elements(a.knowledge_gaps) WITH ORDINALITY AS x(e, i),
                            jsonb_array_elements(e -> 'texts') WITH ORDINALITY AS t(w, j) ORDER BY i, j),
    topic_names = ARRAY(SELECT e ->> 'topic' FROM jsonb_array_elements(a.top_topics) WITH ORDINALITY AS x(e, i) ORDER BY i),
    topic_counts = ARRAY(SELECT (e ->> 'count')::int FROM jsonb_array_elements(a.top_topics) WITH ORDINALITY AS x(e, i) ORDER BY i),
    cumulative_buckets = coalesce((SELECT array_agg(b ORDER BY b) FROM (
        SELECT u.b FROM analytics p, unnest(p.response_buckets, p.response_bucket_counts) AS u(b, n)
        WHERE p.widget_id = a.widget_id AND p.date <= a.date GROUP BY u.b) s), '{}'),
    cumulative_counts = coalesce((SELECT array_agg(n ORDER BY b) FROM (
        SELECT u.b, sum(u.n)::bigint AS n FROM analytics p, unnest(p.response_buckets, p.response_bucket_counts) AS u(b, n)
        WHERE p.widget_id = a.widget_id AND p.date <= a.date GROUP BY u.b) s), '{}');

-- How much of a rolled-up day its stored rows cover: [date, covered_until). The rollup covers a day
-- up to `SETTLE_MARGIN` before it runs (late writes of slow exchanges), so a read takes today from
-- storage too and computes live only what came since. Rows of days rolled up before this migration
-- count only when they were settled (rolled up after the day ended plus the margin).
ALTER TABLE analytics_rollup_days ADD COLUMN covered_until TIMESTAMP WITH TIME ZONE;
UPDATE analytics_rollup_days
SET covered_until = (date + 1)::timestamp AT TIME ZONE 'UTC'
WHERE rolled_up_at >= (date + 1)::timestamp AT TIME ZONE 'UTC' + interval '5 minutes';
