-- One row the health check rewrites (at most once a second), so that /health and the
-- server's start know the database can be written, not only read: a full disk or a
-- read-only file still answers reads.

CREATE TABLE health_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    checked_at INTEGER NOT NULL
);
INSERT INTO health_probe (id, checked_at) VALUES (1, 0);
