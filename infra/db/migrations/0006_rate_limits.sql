-- Fixed-window counters for rate limiting. UNLOGGED: fast writes, and losing them in a crash
-- only resets the windows, which is harmless.
CREATE UNLOGGED TABLE rate_limits (
    key TEXT PRIMARY KEY,
    window_start TIMESTAMP WITH TIME ZONE NOT NULL,
    count INT NOT NULL
);
CREATE INDEX idx_rate_limits_window_start ON rate_limits(window_start);
