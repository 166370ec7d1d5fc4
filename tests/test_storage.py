"""Database and migrations: fresh, idempotent, rolled back whole on failure."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from gondulf.errors import DatabaseError
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.migrations import (
    Migration,
    apply_migrations,
    load_migrations,
    migration_status,
)

TABLES = {
    "domains",
    "auth_sessions",
    "authorization_codes",
    "tokens",
    "rate_limits",
    "schema_migrations",
}


async def tables(db: Database) -> set[str]:
    rows = await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {row["name"] for row in rows}


async def test_fresh_database_gets_every_table(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new" / "folder" / "g.db")
    try:
        applied = await apply_migrations(db)
        assert [m.version for m in applied] == [m.version for m in load_migrations()]
        assert await tables(db) >= TABLES
        row = await db.fetchone("SELECT version, name, applied_at FROM schema_migrations")
        assert row is not None and row["version"] == 1 and row["name"] == "initial"
        assert row["applied_at"] > 0
    finally:
        await db.close()


async def test_connection_uses_wal_busy_timeout_and_foreign_keys(db: Database) -> None:
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"  # type: ignore[index]
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1  # type: ignore[index]
    assert (await db.fetchone("PRAGMA busy_timeout"))[0] >= 1000  # type: ignore[index]


async def test_applying_twice_changes_nothing(db: Database) -> None:
    before = await db.fetchall("SELECT * FROM schema_migrations")
    assert await apply_migrations(db) == []
    after = await db.fetchall("SELECT * FROM schema_migrations")
    assert [tuple(r) for r in before] == [tuple(r) for r in after]


async def test_broken_migration_rolls_back_whole(tmp_path: Path) -> None:
    good = Migration(1, "good", "CREATE TABLE a (x INTEGER);")
    broken = Migration(
        2,
        "broken",
        "CREATE TABLE b (x INTEGER);\nINSERT INTO a VALUES (1);\nINSERT INTO missing VALUES (1);",
    )
    db = await Database.open(tmp_path / "g.db")
    try:
        with pytest.raises(DatabaseError, match="0002_broken failed and was rolled back"):
            await apply_migrations(db, [good, broken])
        assert "a" in await tables(db)
        assert "b" not in await tables(db)
        assert await db.fetchall("SELECT * FROM a") == []
        status = await migration_status(db, [good, broken])
        assert [(s.version, s.applied_at is not None) for s in status] == [(1, True), (2, False)]
        # once fixed, the migration applies
        fixed = Migration(2, "broken", "CREATE TABLE b (x INTEGER);")
        assert [m.version for m in await apply_migrations(db, [good, fixed])] == [2]
    finally:
        await db.close()


async def test_concurrent_migrators_apply_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    migrations = [
        Migration(1, "one", "CREATE TABLE one (x);"),
        Migration(2, "two", "CREATE TABLE two (x);"),
    ]
    dbs = [await Database.open(path) for _ in range(3)]
    try:
        results = await asyncio.gather(*(apply_migrations(d, migrations) for d in dbs))
        assert sorted(m.version for r in results for m in r) == [1, 2]
        assert len(await dbs[0].fetchall("SELECT * FROM schema_migrations")) == 2
    finally:
        for d in dbs:
            await d.close()


def test_migration_statements_keep_trigger_bodies_whole() -> None:
    sql = (
        "CREATE TABLE t (x);\n-- a comment\nCREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
        "  UPDATE t SET x = 1;\n  UPDATE t SET x = 2;\nEND;\n"
    )
    statements = Migration(9, "t", sql).statements()
    assert len(statements) == 2
    assert statements[1].endswith("END;")


def test_shipped_migrations_are_numbered_without_gaps() -> None:
    versions = [m.version for m in load_migrations()]
    assert versions == list(range(1, len(versions) + 1))


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO rate_limits VALUES ('b', 0, 1)")
            raise RuntimeError("boom")
    assert await db.fetchall("SELECT * FROM rate_limits") == []


async def test_interleaved_transactions_do_not_undo_each_other(db: Database) -> None:
    started = asyncio.Event()

    async def failing() -> None:
        with pytest.raises(RuntimeError):
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO rate_limits VALUES ('fail', 0, 1)")
                started.set()
                await asyncio.sleep(0.05)
                raise RuntimeError("rolled back")

    async def succeeding() -> None:
        await started.wait()
        await db.execute("INSERT INTO rate_limits VALUES ('keep', 0, 1)")

    await asyncio.gather(failing(), succeeding())
    rows = await db.fetchall("SELECT bucket FROM rate_limits")
    assert [r["bucket"] for r in rows] == ["keep"]


async def test_hot_path_reader_cannot_write(db: Database) -> None:
    assert db.read_one("SELECT count(*) FROM tokens")[0] == 0  # type: ignore[index]
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        db.read_one("DELETE FROM tokens")


async def test_ping_fails_on_a_closed_database(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.db")
    await apply_migrations(db)
    await db.ping()
    await db.close()
    with pytest.raises(DatabaseError):
        await db.ping()


async def test_ping_fails_without_schema(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "g.db")
    try:
        with pytest.raises(DatabaseError, match="database unusable"):
            await db.ping()
    finally:
        await db.close()


async def test_unopenable_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseError, match="cannot open the database"):
        await Database.open(blocker / "g.db")


async def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "g.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(DatabaseError, match="cannot use the database"):
        await Database.open(path)


async def test_upgrading_keeps_existing_rows(tmp_path: Path) -> None:
    migrations = load_migrations()
    db = await Database.open(tmp_path / "g.db")
    try:
        await apply_migrations(db, migrations[:1])
        await db.execute(
            "INSERT INTO tokens (id, token_hash, kind, family_id, me, client_id, scope, "
            "created_at) VALUES ('t1', 'h1', 'access', 'f1', 'https://jane.test/', "
            "'https://app.test/', 'create', 1)"
        )
        await db.execute("INSERT INTO domains (domain, created_at) VALUES ('jane.test', 1)")
        applied = await apply_migrations(db)
        assert [m.version for m in applied] == [m.version for m in migrations[1:]]
        row = await db.fetchone("SELECT id, scope, client_name, rotated_at FROM tokens")
        assert row is not None and tuple(row) == ("t1", "create", None, None)
        assert await db.fetchone("SELECT domain FROM domains") is not None
    finally:
        await db.close()
