-- Admin widget search by trigram, without pg_trgm (the embedded PostgreSQL has none; issue #10,
-- docs/benchmarks.md "Admin API lists"). A search's exact `total` tested every widget's name
-- (`strpos` on idx_widgets_name_key, 0014): ~2 ms at 10,000 widgets, growing with the table. Every
-- three-character piece of a search is also a piece of any name that contains it, so a GIN index of
-- each name's pieces finds the candidates of a search of three characters or more (the names holding
-- all of its pieces), and `strpos` on those alone decides as before. Shorter searches still test
-- every name (0014). PL/pgSQL, as chat_question (0018): not inlined, so not planned again per write.
CREATE FUNCTION widget_name_grams(name_key TEXT) RETURNS TEXT[]
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT
    AS $body$
BEGIN
    RETURN (SELECT coalesce(array_agg(DISTINCT substr(name_key, i, 3)), '{}')
            FROM generate_series(1, length(name_key) - 2) AS i);
END
$body$;

CREATE INDEX idx_widgets_name_grams ON widgets USING gin (widget_name_grams(name_key));
