-- The admin lists' unfiltered `total` (issue #10, docs/benchmarks.md "Admin API lists"): counting
-- every widget took ~1 ms at 10,000 and grows with the table, on every unfiltered page. Each listed
-- table's row count is kept here instead, moved by statement-level triggers in the transaction that
-- inserts or deletes (cascades and COPY included; TRUNCATE sets it to 0), so a reader sees the count
-- of exactly the rows its snapshot sees. Writers of one table queue on its counter row for the rest
-- of their transaction: widgets and clients are made and deleted by operators, seldom and briefly.
-- Every trigger locks both counter rows first, always in the same order, so a transaction that
-- writes both tables (a client's delete cascading to its widgets, a seed making a client and then
-- its widgets) cannot deadlock with another doing the same in the other order.
CREATE TABLE list_row_counts (
    table_name TEXT PRIMARY KEY,
    n BIGINT NOT NULL CHECK (n >= 0)
);
ALTER TABLE list_row_counts ENABLE ROW LEVEL SECURITY;  -- as every table (0008)

CREATE FUNCTION list_row_counts_move() RETURNS TRIGGER
    LANGUAGE plpgsql
    AS $body$
BEGIN
    PERFORM 1 FROM list_row_counts ORDER BY table_name FOR UPDATE;
    IF TG_OP = 'INSERT' THEN
        UPDATE list_row_counts SET n = n + (SELECT count(*) FROM changed_rows) WHERE table_name = TG_TABLE_NAME;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE list_row_counts SET n = n - (SELECT count(*) FROM changed_rows) WHERE table_name = TG_TABLE_NAME;
    ELSE  -- TRUNCATE
        UPDATE list_row_counts SET n = 0 WHERE table_name = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$body$;

DO $body$
DECLARE
    listed TEXT;
BEGIN
    FOREACH listed IN ARRAY ARRAY['widgets', 'clients'] LOOP
        EXECUTE format('LOCK TABLE %I IN SHARE MODE', listed);  -- no write between count and triggers
        EXECUTE format('INSERT INTO list_row_counts SELECT %L, count(*) FROM %I', listed, listed);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON %I REFERENCING NEW TABLE AS changed_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION list_row_counts_move()', listed || '_count_insert', listed);
        EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON %I REFERENCING OLD TABLE AS changed_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION list_row_counts_move()', listed || '_count_delete', listed);
        EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION list_row_counts_move()', listed || '_count_truncate', listed);
    END LOOP;
END
$body$;
