-- Sign-in integrity: every change of a pending sign-in is a compare-and-set on
-- its revision, and the proof of identity keeps its own state (the emailed
-- code's addresses, digest and tries) instead of columns of the session.
-- Pending sign-ins live an hour at most; the ones in flight are ended.

DROP TABLE auth_sessions;
CREATE TABLE auth_sessions (
    id_hash TEXT PRIMARY KEY,                -- hash of the id held in the person's cookie
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revision INTEGER NOT NULL DEFAULT 0,     -- bumped by every change
    request TEXT NOT NULL,                   -- JSON of the authorization request
    client TEXT,                             -- JSON of the client information
    csrf_secret TEXT NOT NULL,
    me TEXT,                                 -- profile URL being proven
    profile TEXT,                            -- JSON of the homepage h-card
    proof TEXT,                              -- JSON state of the proof under way
    verified_at INTEGER                      -- when the proof succeeded
);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);
