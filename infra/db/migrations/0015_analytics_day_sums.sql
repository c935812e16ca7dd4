-- Analytics reads (issue #11; README "Analytics"): a stored day's confidence and response-time sums
-- and counts as plain columns beside num_messages, num_chats, ... so a UTC read takes a day's
-- counters as they are instead of summing its 24 hourly cells (the rollup writes both; each column
-- is the sum of its hourly array, the confidence sum added up exactly as the reads used to).
ALTER TABLE analytics
    ADD COLUMN confidence_sum FLOAT8 NOT NULL DEFAULT 0,
    ADD COLUMN confidence_count INT NOT NULL DEFAULT 0,
    ADD COLUMN response_sum BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN response_count INT NOT NULL DEFAULT 0;

UPDATE analytics SET
    confidence_sum = coalesce((SELECT sum(x::numeric)::float8 FROM unnest(hour_confidence_sum) x), 0),
    confidence_count = coalesce((SELECT sum(x)::int FROM unnest(hour_confidence_count) x), 0),
    response_sum = coalesce((SELECT sum(x)::bigint FROM unnest(hour_response_sum) x), 0),
    response_count = coalesce((SELECT sum(x)::int FROM unnest(hour_response_count) x), 0);
