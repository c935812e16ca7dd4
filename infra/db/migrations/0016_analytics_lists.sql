-- Analytics reads (issue #11; README "Analytics"): a stored day's top questions, knowledge gaps and
-- topics as narrow rows, one per (widget, day, kind, key), beside the wide `analytics` row that
-- carries the same lists as arrays. A range's lists rank over the small index entries
-- (widget_id, date) INCLUDE (kind, key, n), and only the keys that rank fetch their wordings and gap
-- details, by primary key. The rollup rewrites a day's rows in its upsert transaction; rows go with
-- their analytics row (cascade), so widget, client and demo deletes need nothing more.
CREATE TABLE analytics_lists (
    widget_id UUID NOT NULL,
    date DATE NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('question', 'gap', 'topic')),
    key TEXT NOT NULL,
    n INT NOT NULL,
    -- Questions and gaps: up to 5 wordings and their counts (topics: NULL).
    texts TEXT[],
    text_counts INT[],
    -- Gaps only: why they are gaps, when last asked and the latest answered reply (epoch seconds).
    failed INT,
    low_confidence INT,
    thumbs_down INT,
    last_at FLOAT8,
    last_reply TEXT,
    last_reply_at FLOAT8,
    PRIMARY KEY (widget_id, kind, key, date),
    FOREIGN KEY (widget_id, date) REFERENCES analytics (widget_id, date) ON DELETE CASCADE
);
CREATE INDEX analytics_lists_days ON analytics_lists (widget_id, date) INCLUDE (kind, key, n);
ALTER TABLE analytics_lists ENABLE ROW LEVEL SECURITY;

-- Backfill from the stored rows (the rollup writes a day's rows with this same SELECT).
INSERT INTO analytics_lists (widget_id, date, kind, key, n, texts, text_counts, failed, low_confidence,
                             thumbs_down, last_at, last_reply, last_reply_at)
SELECT a.widget_id, a.date, 'question', q.key, q.n,
       ARRAY(SELECT u.t FROM unnest(a.question_text_keys, a.question_texts) WITH ORDINALITY AS u(i, t, o)
             WHERE u.i = q.i ORDER BY u.o),
       ARRAY(SELECT u.c FROM unnest(a.question_text_keys, a.question_text_counts) WITH ORDINALITY AS u(i, c, o)
             WHERE u.i = q.i ORDER BY u.o),
       NULL, NULL, NULL, NULL, NULL, NULL
FROM analytics a, unnest(a.question_keys, a.question_counts) WITH ORDINALITY AS q(key, n, i)
UNION ALL
SELECT a.widget_id, a.date, 'gap', g.key, g.n,
       ARRAY(SELECT u.t FROM unnest(a.gap_text_keys, a.gap_texts) WITH ORDINALITY AS u(i, t, o)
             WHERE u.i = g.i ORDER BY u.o),
       ARRAY(SELECT u.c FROM unnest(a.gap_text_keys, a.gap_text_counts) WITH ORDINALITY AS u(i, c, o)
             WHERE u.i = g.i ORDER BY u.o),
       g.failed, g.low_confidence, g.thumbs_down, g.last_at, g.last_reply, g.last_reply_at
FROM analytics a,
     unnest(a.gap_keys, a.gap_counts, a.gap_failed, a.gap_low_confidence, a.gap_thumbs_down, a.gap_last_at,
            a.gap_last_reply, a.gap_last_reply_at) WITH ORDINALITY
         AS g(key, n, failed, low_confidence, thumbs_down, last_at, last_reply, last_reply_at, i)
UNION ALL
SELECT a.widget_id, a.date, 'topic', t.key, t.n, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
FROM analytics a, unnest(a.topic_names, a.topic_counts) AS t(key, n);
