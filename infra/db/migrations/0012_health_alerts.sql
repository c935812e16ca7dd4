-- Webhook health alerts (issue #12): failures of real visitor messages in a row, since when the
-- widget fails, which transition was last alerted (claimed here, so two runs never alert twice),
-- and the hourly check's claim on a widget (so two runs at once never probe one widget twice).
ALTER TABLE widgets
    ADD COLUMN relay_failures INT NOT NULL DEFAULT 0,
    ADD COLUMN failing_since TIMESTAMP WITH TIME ZONE,
    ADD COLUMN alerted_state TEXT
        CONSTRAINT widgets_alerted_state_check CHECK (alerted_state IN ('failing', 'healthy')),
    ADD COLUMN alerted_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN health_claimed_until TIMESTAMP WITH TIME ZONE;

-- Retention deletes a widget's oldest chat logs in batches.
CREATE INDEX IF NOT EXISTS idx_chat_logs_widget_created ON chat_logs(widget_id, created_at);
