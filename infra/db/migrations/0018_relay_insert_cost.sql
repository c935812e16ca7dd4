-- The relay's chat_logs insert, cheaper on the server (issue #8; docs/benchmarks.md "Relay overhead"):
-- every relayed message inserts one row, and that insert was the largest part of Postgres's CPU per
-- message.

-- idx_chat_logs_widget_id (0001) is a prefix of idx_chat_logs_widget_created and
-- idx_chat_logs_widget_session (0002): any lookup by widget_id can use those, so the third index on
-- the same leading column only cost a B-tree insertion (and its WAL) per message.
DROP INDEX IF EXISTS idx_chat_logs_widget_id;

-- chat_question (0013), the generated question_key, as PL/pgSQL with the very same expression. As a
-- SQL function it was inlined into the generated column's expression and that expression planned
-- again at every single-row INSERT (~100 us of CPU per row, against ~25 us to evaluate it); PL/pgSQL
-- keeps its plan for the session. Same results (tests/integration/test_rollup.py checks the stored
-- key against Python's `normalise`); stored keys need no rewrite.
CREATE OR REPLACE FUNCTION chat_question(message TEXT) RETURNS TEXT
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    AS $body$
BEGIN
    RETURN left(btrim(regexp_replace(regexp_replace(regexp_replace(
        ' ' || regexp_replace(regexp_replace(lower(regexp_replace(normalize(message, NFD),
        E'[\u0300-\u036f]', '', 'g')),
        E'[!-/:-@\\[-`{-~\u00a1-\u00bf\u00d7\u00f7\u2010-\u205e\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]', ' ', 'g'),
        E'[\\s\u00a0\u2000-\u200b\u3000]+', ' ', 'g') || ' ',
        E' (?:the|a|an)(?= )', '', 'g'),
        E'(?: (?:please|pls|plz|thanks|thank you|thank u|thx|ty|cheers|danke|bitte|merci))+ +$', ' ', 'g'),
        E'[\\s\u00a0\u2000-\u200b\u3000]+', ' ', 'g')), 300);
END
$body$;
