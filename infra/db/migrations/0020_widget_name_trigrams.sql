-- Admin widget search (issue #10, docs/benchmarks.md "Admin API lists"): a search's exact `total`
-- tested every widget's name (`strpos` over the `name_key` index, 0014): ~2 ms at 10,000 widgets,
-- growing with the table, on every search. The embedded Postgres has no `pg_trgm`, so the names'
-- three-character pieces are kept here instead, by triggers, in the transaction that writes the
-- widget:
-- - `widget_name_trigrams`: one entry per distinct piece of each widget's lower-case name, with the
--   list's order (client, name, id) after the piece, so that a search reads the entries of one
--   piece in the list's order, from the index alone;
-- - `widget_trigram_counts`: how many widgets' names hold each piece.
-- A name contains a search of three characters or more only if it holds every piece of the search,
-- so the entries of the search's rarest piece hold every match: a search reads those, and `strpos`
-- decides as before. At worst (a piece every name holds) that is one entry per widget, as before.
CREATE FUNCTION name_trigrams(name TEXT) RETURNS TEXT[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $body$
SELECT coalesce(array_agg(DISTINCT substr(name, i, 3)), '{}') FROM generate_series(1, length(name) - 2) AS i
$body$;

CREATE TABLE widget_name_trigrams (
    trigram TEXT NOT NULL,
    client_id UUID NOT NULL,
    name_key TEXT NOT NULL,
    widget_id UUID NOT NULL,
    PRIMARY KEY (trigram, client_id, name_key, widget_id)
);
CREATE TABLE widget_trigram_counts (
    trigram TEXT PRIMARY KEY,
    n INT NOT NULL CHECK (n >= 0)
);
ALTER TABLE widget_name_trigrams ENABLE ROW LEVEL SECURITY;  -- as every table (0008)
ALTER TABLE widget_trigram_counts ENABLE ROW LEVEL SECURITY;

-- The entries of some widgets' names (`ids`, `client_ids` and `name_keys` side by side) added
-- (`sign` 1) or removed (-1), and the counts moved to match (a count would go below zero, and the
-- statement fail, if entries removed were not there). Every caller first holds the widgets' counter row
-- (0019: its insert and delete triggers fire before these, and a rename takes it here), so the
-- writers of names take turns on the counts and cannot deadlock on them.
CREATE FUNCTION widget_name_trigrams_move(ids UUID[], client_ids UUID[], name_keys TEXT[], sign INT) RETURNS VOID
    LANGUAGE sql
    AS $body$
WITH pieces AS MATERIALIZED (
    SELECT t.trigram, w.client_id, w.name_key, w.id AS widget_id
    FROM unnest(ids, client_ids, name_keys) AS w(id, client_id, name_key),
         unnest(name_trigrams(w.name_key)) AS t(trigram)
), added AS (
    INSERT INTO widget_name_trigrams (trigram, client_id, name_key, widget_id)
    SELECT * FROM pieces WHERE sign > 0
), removed AS (
    DELETE FROM widget_name_trigrams p USING pieces
    WHERE sign < 0 AND (p.trigram, p.client_id, p.name_key, p.widget_id)
        = (pieces.trigram, pieces.client_id, pieces.name_key, pieces.widget_id)
), lowered AS (
    UPDATE widget_trigram_counts c SET n = c.n - gone.n
    FROM (SELECT trigram, count(*) AS n FROM pieces WHERE sign < 0 GROUP BY trigram) AS gone
    WHERE c.trigram = gone.trigram
)
INSERT INTO widget_trigram_counts AS c (trigram, n)
SELECT trigram, count(*) FROM pieces WHERE sign > 0 GROUP BY trigram
ON CONFLICT (trigram) DO UPDATE SET n = c.n + excluded.n;
-- Pieces no name holds any more.
DELETE FROM widget_trigram_counts
WHERE n = 0 AND trigram IN (SELECT unnest(name_trigrams(k)) FROM unnest(name_keys) AS k);
$body$;

CREATE FUNCTION widget_name_trigrams_follow() RETURNS TRIGGER
    LANGUAGE plpgsql
    AS $body$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM widget_name_trigrams_move(array_agg(id), array_agg(client_id), array_agg(name_key), 1) FROM changed_rows;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM widget_name_trigrams_move(array_agg(id), array_agg(client_id), array_agg(name_key), -1) FROM changed_rows;
    ELSIF TG_OP = 'UPDATE' THEN  -- a rename (or a move to another client), one row
        PERFORM 1 FROM list_row_counts ORDER BY table_name FOR UPDATE;
        PERFORM widget_name_trigrams_move(ARRAY[OLD.id], ARRAY[OLD.client_id], ARRAY[OLD.name_key], -1);
        PERFORM widget_name_trigrams_move(ARRAY[NEW.id], ARRAY[NEW.client_id], ARRAY[NEW.name_key], 1);
    ELSE  -- TRUNCATE
        DELETE FROM widget_name_trigrams;
        DELETE FROM widget_trigram_counts;
    END IF;
    RETURN NULL;
END
$body$;

-- Named after 0019's triggers of the same events, which fire first (by name) and lock the counter rows.
CREATE TRIGGER widgets_name_trigrams_insert AFTER INSERT ON widgets REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION widget_name_trigrams_follow();
CREATE TRIGGER widgets_name_trigrams_delete AFTER DELETE ON widgets REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION widget_name_trigrams_follow();
CREATE TRIGGER widgets_name_trigrams_update AFTER UPDATE OF name, client_id ON widgets
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.client_id IS DISTINCT FROM NEW.client_id)
    EXECUTE FUNCTION widget_name_trigrams_follow();
CREATE TRIGGER widgets_name_trigrams_truncate AFTER TRUNCATE ON widgets
    FOR EACH STATEMENT EXECUTE FUNCTION widget_name_trigrams_follow();

-- A search's rarest piece: the one fewest names hold (one no name holds, if any: nothing matches).
-- Its pieces are name_trigrams' (every `substr(search, i, 3)`), read in a loop that stops at the
-- first piece no name holds, without name_trigrams' DISTINCT sort (~0.07 ms less a call, measured).
-- Functions in PL/pgSQL, whose statements are planned once per session, not in every list's
-- statement (planning them there cost as much as they save).
CREATE FUNCTION widget_name_piece(search TEXT) RETURNS TEXT
    LANGUAGE plpgsql STABLE STRICT
    AS $body$
DECLARE
    piece TEXT;
    holding BIGINT;
    rarest TEXT;
    rarest_holding BIGINT;
BEGIN
    FOR i IN 1 .. length(search) - 2 LOOP
        piece := substr(search, i, 3);
        holding := (SELECT n FROM widget_trigram_counts WHERE trigram = piece);
        IF holding IS NULL THEN
            RETURN piece;
        END IF;
        IF rarest IS NULL OR holding < rarest_holding THEN
            rarest := piece;
            rarest_holding := holding;
        END IF;
    END LOOP;
    RETURN rarest;
END
$body$;

-- How many widgets' names contain `search` (lower-case, three characters or more): from its rarest
-- piece's entries, or, when most names hold that piece, by testing every name (the narrower
-- name index of 0014 reads faster than as many entries of the pieces' index).
CREATE FUNCTION widget_name_search_count(search TEXT) RETURNS BIGINT
    LANGUAGE plpgsql STABLE STRICT
    AS $body$
DECLARE
    piece TEXT := widget_name_piece(search);
    holding BIGINT := coalesce((SELECT n FROM widget_trigram_counts WHERE trigram = piece), 0);
BEGIN
    IF holding * 2 > (SELECT n FROM list_row_counts WHERE table_name = 'widgets') THEN
        RETURN (SELECT count(*) FROM widgets WHERE strpos(name_key, search) > 0);
    END IF;
    RETURN (SELECT count(*) FROM widget_name_trigrams WHERE trigram = piece AND strpos(name_key, search) > 0);
END
$body$;

-- The widgets there are already.
LOCK TABLE widgets IN SHARE MODE;
SELECT widget_name_trigrams_move(array_agg(id), array_agg(client_id), array_agg(name_key), 1) FROM widgets;
