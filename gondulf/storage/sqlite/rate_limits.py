"""Abuse-limit counters (table rate_limits): a bucket's events in slots of the window.

Events are counted in slots of a sixtieth of the window, so a bucket holds at
most 61 rows; a limit is reached when the slots inside the window sum to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gondulf.storage.records import Counted, Limit, Refused
from gondulf.storage.sqlite.database import Database, Row
from gondulf.storage.sqlite.executor import Executor

SLOTS_PER_WINDOW = 60
SUM = (
    "SELECT coalesce(sum(count), 0), min(window_start) FROM rate_limits "
    "WHERE bucket = ? AND window_start > ?"
)
ADD = (
    "INSERT INTO rate_limits (bucket, window_start, count) VALUES (?, ?, 1) "
    "ON CONFLICT (bucket, window_start) DO UPDATE SET count = count + 1"
)


def slot(limit: Limit, at: int) -> int:
    size = max(1, limit.window // SLOTS_PER_WINDOW)
    return at - at % size


def _refused(limit: Limit, row: Row | None, at: int) -> Refused | None:
    if row is None or row[0] < limit.count:
        return None
    oldest = row[1] if row[1] is not None else at
    return Refused(limit, max(1, oldest + limit.window - at))


@dataclass(frozen=True)
class SQLiteRateLimits:
    db: Executor

    async def acquire(self, checks: Sequence[tuple[Limit, str]], at: int) -> Counted | Refused:
        if isinstance(self.db, Database):  # one transaction of its own
            async with self.db.transaction() as tx:
                return await SQLiteRateLimits(tx).acquire(checks, at)
        for limit, key in checks:
            refused = _refused(
                limit, await self.db.fetchone(SUM, (limit.bucket(key), at - limit.window)), at
            )
            if refused is not None:
                return refused
        rows = tuple((limit.bucket(key), slot(limit, at)) for limit, key in checks)
        for row in rows:
            await self.db.execute(ADD, row)
        return Counted(rows)

    async def refund(self, counted: Counted) -> None:
        for bucket, start in counted.rows:
            await self.db.execute(
                "UPDATE rate_limits SET count = count - 1 "
                "WHERE bucket = ? AND window_start = ? AND count > 0",
                (bucket, start),
            )

    async def reached(self, limit: Limit, key: str, at: int) -> Refused | None:
        row = await self.db.fast_fetchone(SUM, (limit.bucket(key), at - limit.window))
        return _refused(limit, row, at)

    async def count(self, limit: Limit, key: str, at: int) -> None:
        await self.db.execute(ADD, (limit.bucket(key), slot(limit, at)))
