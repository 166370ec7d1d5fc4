"""Storage: the SQLite connection and the schema migrations."""
