-- Login tokens carry the user's token version: changing a password, or deleting the user, ends
-- every token issued before at once.
ALTER TABLE users ADD COLUMN token_version INT NOT NULL DEFAULT 0;

-- What the last health probe (hourly check, save-time test, or the relay) saw.
ALTER TABLE widgets
    ADD COLUMN last_error_type TEXT,
    ADD COLUMN last_latency_ms INT;

-- Admin lists: widgets by client then name (searched by a stored lower-case name: computing
-- lower() on every row was half of a search's cost), clients by name, webhook errors newest first.
ALTER TABLE widgets ADD COLUMN name_key TEXT GENERATED ALWAYS AS (lower(name)) STORED;
CREATE INDEX idx_widgets_client_name ON widgets(client_id, name_key, id);
CREATE INDEX idx_webhook_errors_occurred ON webhook_errors(occurred_at DESC, id DESC);
CREATE INDEX idx_clients_name ON clients(lower(name), id);

-- Counters of different window lengths (a minute for visitors, 15 minutes for login failures):
-- each row knows its own, so a sweep deletes only windows that have ended.
ALTER TABLE rate_limits ADD COLUMN window_seconds INT NOT NULL DEFAULT 60;
