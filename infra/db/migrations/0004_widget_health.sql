-- Webhook health as last seen by the hourly check and the relay.
ALTER TABLE widgets
    ADD COLUMN health_status TEXT NOT NULL DEFAULT 'unknown'
        CONSTRAINT widgets_health_status_check CHECK (health_status IN ('unknown', 'healthy', 'failing')),
    ADD COLUMN health_checked_at TIMESTAMP WITH TIME ZONE,
    ADD COLUMN consecutive_failures INT NOT NULL DEFAULT 0;

CREATE INDEX idx_widgets_health_status ON widgets(health_status);
