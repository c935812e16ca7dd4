-- What the analytics rollup keeps per widget and UTC day (DESIGN.md "Analytics"; README "Analytics").
-- Every per-hour array has 24 cells, one per UTC hour of the row's day, and is additive: a range in
-- any whole-hour time zone is the sum of the hours it covers, exactly.
ALTER TABLE analytics
    ADD COLUMN num_messages INT NOT NULL DEFAULT 0,
    ADD COLUMN hour_messages INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    ADD COLUMN hour_chats INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    ADD COLUMN hour_failed INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    -- Sessions whose first message ever falls in the hour (so conversations add up over any range).
    ADD COLUMN hour_conversations INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    ADD COLUMN hour_confidence_sum FLOAT8[] NOT NULL DEFAULT array_fill(0::float8, ARRAY[24]),
    ADD COLUMN hour_confidence_count INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    ADD COLUMN hour_positive INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    ADD COLUMN hour_negative INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    ADD COLUMN hour_response_sum BIGINT[] NOT NULL DEFAULT array_fill(0::bigint, ARRAY[24]),
    ADD COLUMN hour_response_count INT[] NOT NULL DEFAULT array_fill(0, ARRAY[24]),
    -- Sparse histograms of answered response times (bucket -> count): for the whole day, and per
    -- hour (key = hour * 10000 + bucket). Buckets: exact milliseconds below 1 s, then 1 % wide.
    ADD COLUMN response_buckets INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN response_bucket_counts INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN response_hour_buckets INT[] NOT NULL DEFAULT '{}',
    ADD COLUMN response_hour_bucket_counts INT[] NOT NULL DEFAULT '{}',
    -- Up to 50 normalised questions and 50 knowledge gaps of the day, so that lists merged over a
    -- range rank more than the 10 they show.
    ADD COLUMN top_questions JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN knowledge_gaps JSONB NOT NULL DEFAULT '[]'::jsonb;

-- Which UTC days the rollup has computed (for every widget at once), and when. A day is settled,
-- and read from `analytics` (a missing row meaning no messages), once it was rolled up after it ended.
CREATE TABLE analytics_rollup_days (
    date DATE PRIMARY KEY,
    rolled_up_at TIMESTAMP WITH TIME ZONE NOT NULL
);
ALTER TABLE analytics_rollup_days ENABLE ROW LEVEL SECURITY;
