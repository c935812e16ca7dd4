-- Extra daily aggregates the rollup keeps (DESIGN.md "Analytics").
ALTER TABLE analytics
    ADD COLUMN num_conversations INT NOT NULL DEFAULT 0,
    ADD COLUMN num_failed INT NOT NULL DEFAULT 0,
    ADD COLUMN avg_response_time_ms FLOAT,
    ADD COLUMN p95_response_time_ms FLOAT,
    ADD COLUMN top_topics JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now();
