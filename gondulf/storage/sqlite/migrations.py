"""Numbered schema migrations shipped as `.sql` files inside the package.

Each file `NNNN_name.sql` is applied in its own `BEGIN IMMEDIATE` transaction
together with its row in `schema_migrations`, so a failing migration leaves
no trace and a migration is never applied twice, even by two processes
starting at once.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable

from gondulf.errors import DatabaseError
from gondulf.storage.sqlite.database import Database

FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
)
"""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str = field(repr=False)

    def statements(self) -> list[str]:
        """The file split into statements (trigger bodies kept whole)."""
        statements, current = [], ""
        for line in self.sql.splitlines(keepends=True):
            current += line
            if sqlite3.complete_statement(current):
                if current.strip():
                    statements.append(current.strip())
                current = ""
        if current.strip() and not current.strip().startswith("--"):
            statements.append(current.strip())
        return statements


@dataclass(frozen=True)
class MigrationStatus:
    version: int
    name: str
    applied_at: int | None


def load_migrations(folder: Traversable | None = None) -> list[Migration]:
    """Migrations in version order from `folder` (default: the package's own)."""
    folder = folder or resources.files("gondulf.storage.sqlite") / "migrations"
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        match = FILE_NAME.match(entry.name)
        if not match:
            continue
        version = int(match.group(1))
        if version in found:
            raise DatabaseError(f"two migrations share version {version}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


async def _applied(db: Database) -> dict[int, int]:
    await db.execute(CREATE_TABLE)
    rows = await db.fetchall("SELECT version, applied_at FROM schema_migrations")
    return {row["version"]: row["applied_at"] for row in rows}


async def migration_status(
    db: Database, migrations: Iterable[Migration] | None = None
) -> list[MigrationStatus]:
    applied = await _applied(db)
    return [
        MigrationStatus(m.version, m.name, applied.get(m.version))
        for m in (load_migrations() if migrations is None else migrations)
    ]


async def apply_migrations(
    db: Database, migrations: Iterable[Migration] | None = None
) -> list[Migration]:
    """Apply every pending migration; returns the ones applied now."""
    applied = await _applied(db)
    pending = [
        m
        for m in (load_migrations() if migrations is None else migrations)
        if m.version not in applied
    ]
    done = []
    for migration in pending:
        try:
            async with db.transaction() as tx:
                if await tx.fetchone(
                    "SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)
                ):
                    continue  # another process applied it meanwhile
                await tx.run_script(migration.statements())
                await tx.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.name, int(time.time())),
                )
        except sqlite3.Error as exc:
            raise DatabaseError(
                f"migration {migration.version:04d}_{migration.name} failed and was rolled "
                f"back: {exc}"
            ) from exc
        done.append(migration)
    return done


SchemaObject = tuple[str, str]  # (type, name): ("table", "tokens"), ("index", ...)
SCHEMA_QUERY = (
    "SELECT type, name, sql FROM sqlite_master "
    "WHERE substr(name, 1, 7) <> 'sqlite_' AND sql IS NOT NULL"
)


def schema_of(connection: sqlite3.Connection) -> dict[SchemaObject, str]:
    """Every table, index, trigger and view of a database, with the SQL that made it."""
    return {(kind, name): sql for kind, name, sql in connection.execute(SCHEMA_QUERY)}


def expected_schema(versions: Iterable[int]) -> dict[SchemaObject, str]:
    """The schema that applying exactly these migrations to an empty database produces.

    Raises DatabaseError when a version is not one of the shipped migrations.
    """
    by_version = {m.version: m for m in load_migrations()}
    wanted = sorted(versions)
    unknown = [v for v in wanted if v not in by_version]
    if unknown:
        raise DatabaseError(
            f"it holds migration {unknown[0]:04d}, which this version of "
            "Gondulf does not know; restore it with the version that wrote it"
        )
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute(CREATE_TABLE)
        for version in wanted:
            for statement in by_version[version].statements():
                connection.execute(statement)
        return schema_of(connection)
    finally:
        connection.close()
