"""The SQLite database every repository of gondulf.storage.sqlite shares.

One aiosqlite connection per process, in autocommit mode: a single statement
is atomic by itself, and `transaction()` wraps several in `BEGIN IMMEDIATE`.
All use of the connection is serialised by one lock, so two interleaved
coroutines can never share (or roll back) each other's transaction.
WAL lets several server processes and the CLI use the same file at once.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from gondulf.errors import DatabaseBusy, DatabaseError
from gondulf.files import private_file
from gondulf.storage.records import BUSY, OK

BUSY_TIMEOUT_MS = 5000  # SQLite waits this long for another process's write lock
LOCK_WAIT = 6.0  # seconds a call waits for this process's turn on the connection
READ_BUSY_TIMEOUT_MS = 200
PROBE_BUSY_TIMEOUT_MS = 1000
Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]


def lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


@contextmanager
def server_lock(path: Path, *, exclusive: bool = False) -> Iterator[None]:
    """A lock beside the database: servers hold it shared, `restore` needs it exclusive.

    Raises DatabaseError at once when it cannot be had.
    """
    private_file(lock_path(path))
    fd = os.open(lock_path(path), os.O_RDWR)
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseError(f"a Gondulf server is using {path}; stop it first") from None
        yield
    finally:
        os.close(fd)


class Database:
    def __init__(
        self,
        connection: aiosqlite.Connection,
        path: Path,
        reader: sqlite3.Connection | None = None,
        on_busy: Callable[[], None] | None = None,
    ) -> None:
        self._connection = connection
        self._on_busy = on_busy
        self._reader = reader
        self._lock = asyncio.Lock()
        self._prober: sqlite3.Connection | None = None
        self._probe_lock = threading.Lock()
        self.path = path

    @classmethod
    async def open(cls, path: Path, *, on_busy: Callable[[], None] | None = None) -> Database:
        """Open (creating the file 0600 and its folder 0700) with WAL, busy timeout and
        foreign keys; `on_busy` is called each time a call raises DatabaseBusy."""
        try:
            private_file(path)
            connection = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise DatabaseError(f"cannot open the database {path}: {exc}") from exc
        connection.row_factory = sqlite3.Row
        try:
            await connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await connection.execute("PRAGMA journal_mode = WAL")
            await connection.execute("PRAGMA foreign_keys = ON")
            await connection.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            await connection.close()
            raise DatabaseError(f"cannot use the database {path}: {exc}") from exc
        reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        reader.row_factory = sqlite3.Row
        reader.execute(f"PRAGMA busy_timeout = {READ_BUSY_TIMEOUT_MS}")
        reader.execute("PRAGMA query_only = ON")
        return cls(connection, path, reader, on_busy)

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """This process's turn on the connection, waited for LOCK_WAIT seconds at most:
        a request never hangs behind a long write, it fails with DatabaseBusy."""
        try:
            async with asyncio.timeout(LOCK_WAIT):
                await self._lock.acquire()
        except TimeoutError:
            if self._on_busy is not None:
                self._on_busy()
            raise DatabaseBusy(
                f"the database {self.path} stayed busy for {LOCK_WAIT:g} s"
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    def probe_write(self, now: int) -> str:
        """A real one-row write on a connection of its own (blocking: run it in a thread).

        OK, BUSY when another writer holds the database, or why writing fails.
        """
        with self._probe_lock:
            if self._reader is None:
                return "the database is closed"
            try:
                if self._prober is None:
                    self._prober = sqlite3.connect(
                        self.path, isolation_level=None, check_same_thread=False
                    )
                    self._prober.execute(f"PRAGMA busy_timeout = {PROBE_BUSY_TIMEOUT_MS}")
                self._prober.execute("UPDATE health_probe SET checked_at = ? WHERE id = 1", (now,))
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
                    return BUSY
                return str(exc)
            except sqlite3.Error as exc:
                return str(exc)
            return OK

    def probe_read(self) -> str:
        """OK, or why the schema cannot be read (on the event loop's thread: it is tiny)."""
        try:
            self.read_one("SELECT count(*) FROM health_probe")
        except sqlite3.Error as exc:
            return str(exc)
        return OK

    async def close(self) -> None:
        async with self._lock:
            await self._connection.close()
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            with self._probe_lock:
                if self._prober is not None:
                    self._prober.close()
                    self._prober = None

    def read_one(self, sql: str, params: Params = ()) -> Row | None:
        """An indexed point lookup on the event loop's own thread, for hot paths.

        It sees every committed write at once (WAL), so nothing it answers is
        stale, and it skips the hop to aiosqlite's worker thread. Use it only
        for lookups that take microseconds; everything else uses the async methods.
        """
        if self._reader is None:
            raise sqlite3.ProgrammingError("the database is closed")
        row: Row | None = self._reader.execute(sql, params).fetchone()
        return row

    async def fast_fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """`read_one` behind the same async interface as a transaction's fetchone."""
        return self.read_one(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        async with self._turn():
            return await Transaction(self._connection).execute(sql, params)

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        async with self._turn():
            return await Transaction(self._connection).fetchone(sql, params)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        async with self._turn():
            return await Transaction(self._connection).fetchall(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """`BEGIN IMMEDIATE` … `COMMIT`, rolled back whole on any exception."""
        async with self._turn():
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._connection)
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    async def ping(self) -> None:
        """Raise DatabaseError unless the database answers and holds the schema."""
        try:
            await self.fetchone("SELECT count(*) FROM schema_migrations")
        except (sqlite3.Error, ValueError) as exc:
            raise DatabaseError(f"database unusable: {exc}") from exc


class Transaction:
    """Statements on the connection; the caller holds the Database's lock."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    # One hop to aiosqlite's thread a statement: a statement that changes rows is run to
    # its end by execute (its cursor needs no closing); one that returns rows is fetched
    # whole in the same hop.

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._connection.execute(sql, params)
        return cursor.rowcount

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self._connection.execute_fetchall(sql, params)
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]:
        return list(await self._connection.execute_fetchall(sql, params))

    async def fast_fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """Inside a transaction, reads must see its own writes: no side reader."""
        return await self.fetchone(sql, params)

    async def run_script(self, statements: Iterable[str]) -> None:
        for statement in statements:
            await self._connection.execute(statement)
