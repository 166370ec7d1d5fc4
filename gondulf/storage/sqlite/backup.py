"""Consistent copies of the live database (SQLite online backup API) and restoring one.

A backup can be taken while servers write: the copy is one snapshot. Restoring
needs every server stopped; the database it replaces is kept beside it.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from gondulf.errors import DatabaseError, UsageError
from gondulf.files import private_file
from gondulf.storage.sqlite.database import server_lock
from gondulf.storage.sqlite.migrations import expected_schema, schema_of


def _integrity(connection: sqlite3.Connection) -> str:
    return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


def _copy(source: Path, destination: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        private_file(destination)
        dst = sqlite3.connect(destination)
        try:
            src.backup(dst)
            result = _integrity(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # a single self-contained file
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise DatabaseError(f"copying {source} failed: {exc}") from exc
    finally:
        src.close()
    if result != "ok":
        destination.unlink(missing_ok=True)
        raise DatabaseError(f"the copy of {source} failed its integrity check: {result}")


def backup(database: Path, destination: Path) -> int:
    """Write a verified copy of `database` to `destination`; returns its size in bytes."""
    if not database.is_file():
        raise DatabaseError(f"there is no database at {database.absolute()}")
    if destination.exists():
        raise UsageError(f"{destination} already exists; choose a new file name")
    if not destination.parent.is_dir():
        raise UsageError(f"the folder {destination.parent} does not exist")
    partial = destination.with_name(destination.name + ".partial")
    _remove_with_journals(partial)  # what a backup killed before this one left
    try:
        _copy(database, partial)
        partial.rename(destination)
    finally:
        _remove_with_journals(partial)
    return destination.stat().st_size


def _remove_with_journals(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def check_backup(path: Path) -> int:
    """The number of migrations a backup holds; UsageError unless it is a Gondulf database.

    Its schema (tables, indexes, triggers, views) must be exactly what its
    migrations produce: nothing added (a trigger that copies every new token
    elsewhere), nothing changed, nothing missing.
    """
    if not path.is_file():
        raise UsageError(f"there is no file at {path}")
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if _integrity(connection) != "ok":
                raise UsageError(f"{path} fails SQLite's integrity check")
            versions = [
                row[0] for row in connection.execute("SELECT version FROM schema_migrations")
            ]
            found = schema_of(connection)
        finally:
            connection.close()
    except sqlite3.Error as exc:
        raise UsageError(f"{path} is not a Gondulf database backup ({exc})") from exc
    try:
        expected = expected_schema(versions)
    except DatabaseError as exc:
        raise UsageError(f"{path} cannot be restored: {exc}") from exc
    differences = [f"unexpected {kind} {name}" for kind, name in sorted(found.keys() - expected)]
    differences += [f"missing {kind} {name}" for kind, name in sorted(expected.keys() - found)]
    differences += [
        f"{kind} {name} differs"
        for kind, name in sorted(found.keys() & expected)
        if found[kind, name] != expected[kind, name]
    ]
    if differences:
        raise UsageError(f"{path} does not have Gondulf's schema: {'; '.join(differences)}")
    return len(versions)


def restore(source: Path, database: Path) -> Path | None:
    """Replace `database` with the backup `source`; returns where the old one was kept."""
    check_backup(source)
    with server_lock(database, exclusive=True):
        kept = None
        if database.is_file():
            kept = database.with_name(f"{database.name}.before-restore-{int(time.time())}")
            _copy(database, kept)
        for suffix in ("-wal", "-shm"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        database.unlink(missing_ok=True)
        _copy(source, database)
        return kept
