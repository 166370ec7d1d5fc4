-- Every piece of state Gondulf keeps. Times are Unix seconds (UTC).
-- Secrets (emailed codes, authorization codes, tokens, session ids) are stored
-- only as SHA-256 hashes.

-- A person's domain and the last time its _gondulf TXT record was checked.
CREATE TABLE domains (
    domain TEXT PRIMARY KEY,                 -- lowercase host name
    created_at INTEGER NOT NULL,
    last_checked_at INTEGER,                 -- last DNS check, whatever its result
    last_verified_at INTEGER,                -- last successful DNS check
    last_check_result TEXT                   -- short description of the last result
);

-- A sign-in in progress: the client's request and the emailed code's state,
-- keyed by the hash of the id held in the person's cookie.
CREATE TABLE auth_sessions (
    id_hash TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    request TEXT NOT NULL,                   -- JSON of the authorization request
    me TEXT,                                 -- profile URL being proven
    email TEXT,                              -- rel=me address the code went to
    code_hash TEXT,                          -- hash of the emailed code
    code_expires_at INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,     -- wrong codes entered
    csrf_secret TEXT NOT NULL,
    verified_at INTEGER                      -- when the emailed code was entered right
);
CREATE INDEX auth_sessions_expires ON auth_sessions (expires_at);

-- Authorization codes: single use, bound to the request they answer.
CREATE TABLE authorization_codes (
    code_hash TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    me TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    code_challenge TEXT,
    code_challenge_method TEXT,
    profile TEXT,                            -- JSON of the h-card at sign-in
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

-- Access and refresh tokens. `id` is a public handle for administration.
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    family_id TEXT NOT NULL,                 -- every token descended from one sign-in
    parent_id TEXT REFERENCES tokens (id) ON DELETE SET NULL,
    me TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    expires_at INTEGER,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX tokens_me ON tokens (me);
CREATE INDEX tokens_client ON tokens (client_id);
CREATE INDEX tokens_family ON tokens (family_id);
CREATE INDEX tokens_expires ON tokens (expires_at);

-- Fixed-window counters for abuse limits (codes sent per domain, attempts...).
CREATE TABLE rate_limits (
    bucket TEXT NOT NULL,                    -- such as 'codes-sent:example.com'
    window_start INTEGER NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
