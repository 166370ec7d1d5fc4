-- The token lifecycle: refresh-token rotation, the profile userinfo answers
-- with, resource servers that may introspect, and sessions of the grants page.

ALTER TABLE tokens ADD COLUMN rotated_at INTEGER;   -- a refresh token exchanged for a new one
ALTER TABLE tokens ADD COLUMN profile TEXT;         -- JSON profile granted with the token
ALTER TABLE tokens ADD COLUMN client_name TEXT;     -- the app's name when it was granted
ALTER TABLE authorization_codes ADD COLUMN client_name TEXT;

CREATE TABLE resource_servers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    secret_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);

-- A person signed in to the grants page (/grants) with the same DNS + email proof.
CREATE TABLE grant_sessions (
    id_hash TEXT PRIMARY KEY,
    me TEXT NOT NULL,
    csrf_secret TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX grant_sessions_expires ON grant_sessions (expires_at);
