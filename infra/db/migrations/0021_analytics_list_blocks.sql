-- Analytics reads (issue #11; README "Analytics", docs/benchmarks.md "Analytics"): a range's lists
-- read from aligned blocks of days instead of day by day. A 90-day read ranked ~9,600 day entries
-- of `analytics_lists` and fetched the winners' ~2,700 day rows; a widget holds only ~120 distinct
-- keys over those days, so a block of 8, 16, 32, 64 or 128 days holds about as many entries as one
-- busy day. Block (level, first_day) covers the 2^level days from first_day, first_day a multiple
-- of 2^level days after 1970-01-01; its rows are the exact sums of its days' `analytics_lists` rows
-- (counts, every wording's count, the gap reasons; the latest time asked and answered reply), so a
-- read that takes a block instead of its days answers the same.
CREATE TABLE analytics_list_blocks (
    widget_id UUID NOT NULL REFERENCES widgets (id) ON DELETE CASCADE,
    level SMALLINT NOT NULL CHECK (level BETWEEN 3 AND 7),
    first_day DATE NOT NULL CHECK ((first_day - DATE '1970-01-01') % (1 << level) = 0),
    kind TEXT NOT NULL CHECK (kind IN ('question', 'gap', 'topic')),
    key TEXT NOT NULL,
    n INT NOT NULL,
    -- As in analytics_lists, with every wording its days kept (not only 5), so sums stay exact.
    texts TEXT[],
    text_counts INT[],
    failed INT,
    low_confidence INT,
    thumbs_down INT,
    last_at FLOAT8,
    last_reply TEXT,
    last_reply_at FLOAT8,
    PRIMARY KEY (widget_id, kind, key, level, first_day)
);
CREATE INDEX analytics_list_blocks_spans ON analytics_list_blocks (widget_id, level, first_day) INCLUDE (kind, key, n);
ALTER TABLE analytics_list_blocks ENABLE ROW LEVEL SECURITY;  -- as every table (0008)

-- The blocks built, for every widget that existed then (a widget made later has no rows in them).
-- A read uses a block only when it is listed here, is not stale for its widget (below) and every one
-- of its days is stored; the rollup builds the blocks missing here (`analytics.build_list_blocks`).
CREATE TABLE analytics_list_block_spans (
    level SMALLINT NOT NULL,
    first_day DATE NOT NULL,
    built_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (level, first_day)
);
ALTER TABLE analytics_list_block_spans ENABLE ROW LEVEL SECURITY;

-- A widget's built blocks that differ from its days since a day under them changed, until the
-- rollup builds them again for that widget alone.
CREATE TABLE analytics_list_block_stale (
    widget_id UUID NOT NULL REFERENCES widgets (id) ON DELETE CASCADE,
    level SMALLINT NOT NULL,
    first_day DATE NOT NULL,
    PRIMARY KEY (widget_id, level, first_day),
    FOREIGN KEY (level, first_day) REFERENCES analytics_list_block_spans (level, first_day) ON DELETE CASCADE
);
CREATE INDEX analytics_list_block_stale_blocks ON analytics_list_block_stale (level, first_day);
ALTER TABLE analytics_list_block_stale ENABLE ROW LEVEL SECURITY;

-- Any write to a day's list rows (the rollup's, a stale day's delete, a purge's cascade, COPY)
-- marks every built block holding that day stale for that day's widget, in the writing transaction,
-- so no reader ever takes a block that differs from its days. Rows that went with their widget need
-- nothing: their block rows and marks went too (cascade). TRUNCATE empties the blocks.
CREATE FUNCTION analytics_list_blocks_mark_stale() RETURNS TRIGGER
    LANGUAGE plpgsql
    AS $body$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM analytics_list_block_spans;
        DELETE FROM analytics_list_blocks;
        RETURN NULL;
    END IF;
    INSERT INTO analytics_list_block_stale (widget_id, level, first_day)
    SELECT DISTINCT d.widget_id, s.level, s.first_day
    FROM (
        SELECT DISTINCT c.widget_id, c.date FROM changed_rows c
        WHERE TG_OP <> 'DELETE' OR c.widget_id IN (SELECT id FROM widgets)
    ) d
    JOIN analytics_list_block_spans s ON d.date >= s.first_day AND d.date < s.first_day + (1 << s.level)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$body$;

CREATE TRIGGER analytics_lists_stale_insert AFTER INSERT ON analytics_lists
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_list_blocks_mark_stale();
CREATE TRIGGER analytics_lists_stale_update AFTER UPDATE ON analytics_lists
    REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_list_blocks_mark_stale();
CREATE TRIGGER analytics_lists_stale_delete AFTER DELETE ON analytics_lists
    REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_list_blocks_mark_stale();
CREATE TRIGGER analytics_lists_stale_truncate AFTER TRUNCATE ON analytics_lists
    FOR EACH STATEMENT EXECUTE FUNCTION analytics_list_blocks_mark_stale();
