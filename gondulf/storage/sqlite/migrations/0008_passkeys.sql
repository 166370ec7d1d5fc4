-- Passkeys (WebAuthn): a person who signed in with an emailed code may register a passkey
-- bound to that identity and prove themselves with it at later sign-ins.

-- One registered passkey. `id` is the public handle operators use; `credential_id` is the
-- authenticator's own (base64url), `public_key` its COSE public key. `sign_count` is the
-- authenticator's counter at the last accepted use (clone detection). `email` is the
-- address whose emailed code proved the identity when it was added: the passkey works only
-- while the homepage still lists that address.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    me TEXT NOT NULL,
    credential_id TEXT NOT NULL UNIQUE,
    public_key BLOB NOT NULL,
    sign_count INTEGER NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    transports TEXT NOT NULL DEFAULT '',          -- space-separated hints: usb, internal...
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    email TEXT NOT NULL DEFAULT ''
);
CREATE INDEX passkeys_me ON passkeys (me);

-- A challenge handed to a browser for one registration or one sign-in, stored only as its
-- SHA-256 digest, bound to the identity; used up by the first answer (a DELETE).
CREATE TABLE passkey_challenges (
    id TEXT PRIMARY KEY,
    challenge_hash TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('registration', 'authentication')),
    me TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX passkey_challenges_expires ON passkey_challenges (expires_at);

-- When each identity last proved itself with an emailed code: a passkey stands in for the
-- code only while that proof is recent enough (GONDULF_EMAIL_REPROOF_DAYS).
CREATE TABLE email_proofs (
    me TEXT PRIMARY KEY,
    proven_at INTEGER NOT NULL,
    email TEXT NOT NULL DEFAULT ''               -- the address that code went to
);
