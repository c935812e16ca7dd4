-- What the relay records about each exchange (DESIGN.md "Data").
-- A failed exchange is still logged with an empty response: the visitor's message is never lost.
ALTER TABLE chat_logs
    ADD COLUMN status TEXT NOT NULL DEFAULT 'answered'
        CONSTRAINT chat_logs_status_check CHECK (status IN ('answered', 'failed')),
    ADD COLUMN response_time_ms INT CONSTRAINT chat_logs_response_time_check CHECK (response_time_ms >= 0),
    ADD COLUMN topic TEXT,
    ADD CONSTRAINT chat_logs_feedback_check CHECK (feedback IN ('up', 'down')),
    ADD CONSTRAINT chat_logs_confidence_check CHECK (confidence >= 0 AND confidence <= 1);

-- A session's history, oldest first (user_id holds the widget session id).
CREATE INDEX idx_chat_logs_widget_session ON chat_logs(widget_id, user_id, created_at);
-- Per-widget time ranges for analytics and retention.
CREATE INDEX idx_chat_logs_widget_created ON chat_logs(widget_id, created_at);
