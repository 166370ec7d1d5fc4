"""Abuse limits counted in the database, so every server process shares them.

A sliding window: each allowed event adds to its second's row, and an event
is allowed while the window holds fewer than `limit` events. The check and
the count happen in one write transaction, so concurrent requests (in one
process or several) cannot both slip under the limit.
"""

from __future__ import annotations

import time

from gondulf.storage.database import Database


class RateLimiter:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def acquire(self, bucket: str, limit: int, window: int,
                      now: float | None = None) -> bool:
        """Count one event in `bucket` unless `limit` events happened in the last `window` s."""
        at = int(time.time() if now is None else now)
        async with self._db.transaction() as tx:
            row = await tx.fetchone(
                "SELECT coalesce(sum(count), 0) FROM rate_limits "
                "WHERE bucket = ? AND window_start > ?",
                (bucket, at - window),
            )
            if row is not None and row[0] >= limit:
                return False
            await tx.execute(
                "INSERT INTO rate_limits (bucket, window_start, count) VALUES (?, ?, 1) "
                "ON CONFLICT (bucket, window_start) DO UPDATE SET count = count + 1",
                (bucket, at),
            )
        return True

    async def retry_after(self, bucket: str, window: int, now: float | None = None) -> int:
        """Seconds until the oldest event in the window leaves it."""
        at = int(time.time() if now is None else now)
        row = await self._db.fetchone(
            "SELECT min(window_start) FROM rate_limits WHERE bucket = ? AND window_start > ?",
            (bucket, at - window),
        )
        oldest = row[0] if row is not None and row[0] is not None else at - window
        return max(1, oldest + window - at)
