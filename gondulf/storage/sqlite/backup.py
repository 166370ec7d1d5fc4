"""Consistent copies of the live database (SQLite online backup API) and restoring one.

A backup can be taken while servers write: the copy is one snapshot. Restoring
needs every server stopped; the database it replaces is kept beside it, and
what that database says about revocation is carried into the restored one: a
token revoked (or a refresh token used) after the backup was taken stays dead,
a resource server or a passkey removed since stays removed, and a passkey's signature
counter never goes back (or a copy of it could replay an answer seen since).
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Restored:
    kept: Path | None  # where the replaced database now is; None when there was none
    tokens_revoked_again: int = 0  # live in the backup, revoked, used or gone since
    servers_removed_again: int = 0  # resource servers removed since the backup
    tokens_lost: int = 0  # live tokens issued since the backup: their people sign in again
    servers_lost: int = 0  # resource servers added since the backup: add them again
    passkeys_removed_again: int = 0  # passkeys removed since the backup
    passkeys_lost: int = 0  # passkeys registered since the backup: their people add them again


def restore(source: Path, database: Path, now: float | None = None) -> Restored:
    """Replace `database` with the backup `source`, keeping the old one beside it.

    The restored copy is prepared beside the database and renamed over it, so
    the database is never missing or half written.
    """
    check_backup(source)
    with server_lock(database, exclusive=True):
        incoming = database.with_name(database.name + ".restoring")
        _remove_with_journals(incoming)  # what a restore killed before this one left
        try:
            kept = None
            if database.is_file():
                kept = _free_name(database, "before-restore", now)
                _copy(database, kept)
            _copy(source, incoming)
            restored = _carry_over(incoming, kept, now) if kept else Restored(None)
            for suffix in ("-wal", "-shm"):  # the old database's; they must not meet the new one
                database.with_name(database.name + suffix).unlink(missing_ok=True)
            incoming.rename(database)
        finally:
            _remove_with_journals(incoming)
        return restored


def _free_name(database: Path, label: str, now: float | None) -> Path:
    """`gondulf.db.before-restore-2026-11-29T161502Z`, numbered if that exists."""
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime(now))
    candidate = database.with_name(f"{database.name}.{label}-{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = database.with_name(f"{database.name}.{label}-{stamp}-{number}")
    return candidate


# Tokens the replaced database no longer treats as live: revoked or rotated there, or gone
# (purged a day after they were revoked or expired).
_SPENT_SINCE = """
    SELECT id FROM tokens WHERE revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)
    EXCEPT
    SELECT id FROM replaced.tokens
    WHERE revoked_at IS NULL AND {not_rotated} (expires_at IS NULL OR expires_at > :now)
"""


def _carry_over(restored: Path, replaced: Path, now: float | None) -> Restored:
    """Re-apply to the restored copy what the replaced database says was revoked since."""
    at = int(time.time() if now is None else now)
    connection = sqlite3.connect(restored)
    try:
        connection.execute("ATTACH DATABASE ? AS replaced", (f"file:{replaced}?mode=ro",))
        rotated = _has_column(connection, "replaced", "tokens", "rotated_at")
        rotation = "rotated_at IS NULL AND" if rotated else ""
        with connection:
            spent = [
                row[0]
                for row in connection.execute(
                    _SPENT_SINCE.format(not_rotated=rotation), {"now": at}
                )
            ]
            connection.executemany(
                "UPDATE tokens SET revoked_at = ? WHERE id = ?", [(at, i) for i in spent]
            )
            lost = connection.execute(
                "SELECT count(*) FROM replaced.tokens WHERE revoked_at IS NULL "
                "AND (expires_at IS NULL OR expires_at > ?) AND id NOT IN (SELECT id FROM tokens)",
                (at,),
            ).fetchone()[0]
            removed = lost_servers = 0
            if all(_has_table(connection, db, "resource_servers") for db in ("main", "replaced")):
                removed = connection.execute(
                    "DELETE FROM resource_servers WHERE id NOT IN "
                    "(SELECT id FROM replaced.resource_servers)"
                ).rowcount
                lost_servers = connection.execute(
                    "SELECT count(*) FROM replaced.resource_servers "
                    "WHERE id NOT IN (SELECT id FROM resource_servers)"
                ).fetchone()[0]
            passkeys = _carry_over_passkeys(connection)
    except sqlite3.Error as exc:
        raise DatabaseError(
            f"reading what {replaced} revoked since the backup failed ({exc}); nothing was replaced"
        ) from exc
    finally:
        connection.close()
    return Restored(replaced, len(spent), removed, lost, lost_servers, *passkeys)


def _carry_over_passkeys(connection: sqlite3.Connection) -> tuple[int, int]:
    """Passkeys removed since the backup removed again, and the higher of each counter kept;
    returns how many were removed again and how many were registered since."""
    if not all(_has_table(connection, db, "passkeys") for db in ("main", "replaced")):
        return 0, 0
    removed = connection.execute(
        "DELETE FROM passkeys WHERE id NOT IN (SELECT id FROM replaced.passkeys)"
    ).rowcount
    connection.execute(
        "UPDATE passkeys SET sign_count = newer.sign_count "
        "FROM replaced.passkeys AS newer "
        "WHERE newer.id = passkeys.id AND newer.sign_count > passkeys.sign_count"
    )
    lost = connection.execute(
        "SELECT count(*) FROM replaced.passkeys WHERE id NOT IN (SELECT id FROM passkeys)"
    ).fetchone()[0]
    return removed, lost


def _has_table(connection: sqlite3.Connection, schema: str, table: str) -> bool:
    found = connection.execute(
        f"SELECT 1 FROM {schema}.sqlite_master WHERE type = 'table' AND name = ?",
        (table,),
    )
    return found.fetchone() is not None


def _has_column(connection: sqlite3.Connection, schema: str, table: str, column: str) -> bool:
    rows = connection.execute(f"PRAGMA {schema}.table_info({table})").fetchall()
    return any(row[1] == column for row in rows)
