-- The seeds' schema, exactly as written in the requirements (docs: ../shared/seeds/).
-- Later files extend it; this one never changes.

-- Clients table: stores client info
CREATE TABLE clients (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name TEXT NOT NULL,
    contact_email TEXT,
    company_name TEXT,
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now()
);

-- Widgets table: stores widget config and linkage to client
CREATE TABLE widgets (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    client_id UUID NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    config JSONB NOT NULL, -- branding, settings, etc.
    webhook_url TEXT NOT NULL,
    widget_secret TEXT NOT NULL, -- for secure API calls
    is_active BOOLEAN DEFAULT TRUE,
    is_demo BOOLEAN DEFAULT FALSE, -- true for demo widgets
    expires_at TIMESTAMP WITH TIME ZONE, -- auto-expiry for demo widgets
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
    UNIQUE(client_id, name)
);
CREATE INDEX idx_widgets_client_id ON widgets(client_id);
CREATE INDEX idx_widgets_is_demo ON widgets(is_demo);
CREATE INDEX idx_widgets_expires_at ON widgets(expires_at);

-- Chat logs: stores all chat interactions for analytics and review
CREATE TABLE chat_logs (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    widget_id UUID NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
    user_id TEXT, -- anonymous or session-based
    message TEXT NOT NULL,
    response TEXT NOT NULL,
    confidence FLOAT,
    feedback TEXT, -- thumbs up/down, optional
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now()
);
CREATE INDEX idx_chat_logs_widget_id ON chat_logs(widget_id);
CREATE INDEX idx_chat_logs_created_at ON chat_logs(created_at);

-- Analytics: daily/periodic aggregates for dashboard
CREATE TABLE analytics (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    widget_id UUID NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
    date DATE NOT NULL,
    num_chats INT DEFAULT 0,
    avg_confidence FLOAT DEFAULT 0,
    positive_feedback INT DEFAULT 0,
    negative_feedback INT DEFAULT 0,
    most_common_questions JSONB, -- array of top questions/topics
    created_at TIMESTAMP WITH TIME ZONE DEFAULT now(),
    UNIQUE(widget_id, date)
);
CREATE INDEX idx_analytics_widget_id_date ON analytics(widget_id, date);

-- Webhook errors: logs failures for alerting and troubleshooting
CREATE TABLE webhook_errors (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    widget_id UUID NOT NULL REFERENCES widgets(id) ON DELETE CASCADE,
    error_type TEXT,
    error_message TEXT,
    occurred_at TIMESTAMP WITH TIME ZONE DEFAULT now()
);
CREATE INDEX idx_webhook_errors_widget_id ON webhook_errors(widget_id);
CREATE INDEX idx_webhook_errors_occurred_at ON webhook_errors(occurred_at);
