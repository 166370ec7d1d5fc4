"""Storage: the records Gondulf keeps (records.py), the repositories services use
(repositories.py, engine-neutral), and their SQLite implementation (sqlite/), the only
place with SQL."""
