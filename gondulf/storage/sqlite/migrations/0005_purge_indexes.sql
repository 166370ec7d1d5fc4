-- Every foreign key is indexed, and every purge condition too: without an index on
-- tokens.parent_id, deleting a token scanned the whole table to clear its children's
-- references, so a purge's cost grew with the square of the table.

CREATE INDEX tokens_parent ON tokens (parent_id);
CREATE INDEX tokens_revoked ON tokens (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX client_cache_expires ON client_cache (expires_at);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
