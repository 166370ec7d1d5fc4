"""What the repositories run statements on: the Database, or one Transaction of it."""

from __future__ import annotations

from typing import Protocol

from gondulf.storage.sqlite.database import Params, Row


class Executor(Protocol):
    async def execute(self, sql: str, params: Params = ()) -> int: ...

    async def fetchone(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetchall(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fast_fetchone(self, sql: str, params: Params = ()) -> Row | None:
        """An indexed point read on the hot path: on the Database, read on the event
        loop's own thread (no worker-thread hop); in a transaction, an ordinary read."""
