-- The sign-in flow: what a pending sign-in discovered on the homepage, and
-- client information cached per the client's Cache-Control.

ALTER TABLE auth_sessions ADD COLUMN emails TEXT;     -- JSON list of rel=me addresses
ALTER TABLE auth_sessions ADD COLUMN profile TEXT;    -- JSON of the homepage h-card
ALTER TABLE auth_sessions ADD COLUMN client TEXT;     -- JSON of the client information

CREATE TABLE client_cache (
    client_id TEXT PRIMARY KEY,
    info TEXT NOT NULL,                      -- JSON of the parsed client information
    fetched_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Sliding-window abuse limits sum a bucket's recent rows.
CREATE INDEX rate_limits_bucket ON rate_limits (bucket, window_start);
