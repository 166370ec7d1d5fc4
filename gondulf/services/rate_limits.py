"""Abuse limits counted in the database, so every server process shares them.

Each limit counts what one party did (a client address, an email address, a
domain, a sign-in) over a sliding window. Events are counted in slots of a
sixtieth of the window, so a bucket holds at most 61 rows. Checking several
limits and counting the event in each happen in one write transaction: no
two concurrent requests, in one process or several, can both slip under a
limit, and an event refused by one limit is counted by none.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gondulf.config import Limits
from gondulf.storage.database import Database, Row, Transaction

SLOTS_PER_WINDOW = 60


@dataclass(frozen=True)
class Limit:
    name: str  # such as "codes-per-ip"
    count: int  # events allowed in `window` seconds
    window: int = 3600

    def bucket(self, key: str) -> str:
        return f"{self.name}:{key}"

    def slot(self, at: int) -> int:
        size = max(1, self.window // SLOTS_PER_WINDOW)
        return at - at % size


@dataclass(frozen=True)
class AbuseLimits:
    """The limits of each party, from the settings (GONDULF_LIMIT_*)."""

    signins_per_ip: Limit
    codes_per_ip: Limit
    codes_per_address: Limit
    codes_per_domain: Limit
    wrong_codes_per_ip: Limit
    failed_api_per_ip: Limit
    codes_per_session: int  # counted in the sign-in's own state

    @classmethod
    def from_settings(cls, limits: Limits) -> AbuseLimits:
        def limit(name: str, count: int) -> Limit:
            return Limit(name, count, limits.window)

        return cls(limit("signins-per-ip", limits.signins_per_ip),
                   limit("codes-per-ip", limits.codes_per_ip),
                   limit("codes-per-address", limits.codes_per_address),
                   limit("codes-per-domain", limits.codes_per_domain),
                   limit("wrong-codes-per-ip", limits.wrong_codes_per_ip),
                   limit("failed-api-per-ip", limits.failed_api_per_ip),
                   limits.codes_per_session)


@dataclass(frozen=True)
class Refused:
    """A limit that was reached, and the seconds until an event is allowed again."""

    limit: Limit
    retry_after: int


@dataclass(frozen=True)
class Counted:
    """Events counted by `acquire`, so that `refund` can take them back."""

    rows: tuple[tuple[str, int], ...]  # (bucket, slot)


def address_key(address: str) -> str:
    """The client address as a limit counts it: IPv6 by its /64, which one host may hold."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


SUM = ("SELECT coalesce(sum(count), 0), min(window_start) FROM rate_limits "
       "WHERE bucket = ? AND window_start > ?")
ADD = ("INSERT INTO rate_limits (bucket, window_start, count) VALUES (?, ?, 1) "
       "ON CONFLICT (bucket, window_start) DO UPDATE SET count = count + 1")


class RateLimiter:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def acquire(self, checks: Sequence[tuple[Limit, str]],
                      now: float | None = None) -> Counted | Refused:
        """Count one event under every (limit, key) unless one of them is reached."""
        at = int(time.time() if now is None else now)
        async with self._db.transaction() as tx:
            for limit, key in checks:
                refused = await _check(tx, limit, key, at)
                if refused is not None:
                    return refused
            rows = []
            for limit, key in checks:
                row = (limit.bucket(key), limit.slot(at))
                await tx.execute(ADD, row)
                rows.append(row)
        return Counted(tuple(rows))

    async def refund(self, counted: Counted) -> None:
        """Take back events that did not happen after all (an email that failed)."""
        async with self._db.transaction() as tx:
            for bucket, slot in counted.rows:
                await tx.execute("UPDATE rate_limits SET count = count - 1 "
                                 "WHERE bucket = ? AND window_start = ? AND count > 0",
                                 (bucket, slot))

    def reached(self, limit: Limit, key: str, now: float | None = None) -> Refused | None:
        """Whether `limit` is reached for `key`: a point read on the event loop's thread."""
        at = int(time.time() if now is None else now)
        row = self._db.read_one(SUM, (limit.bucket(key), at - limit.window))
        return _refused(limit, row, at)

    async def count(self, limit: Limit, key: str, now: float | None = None) -> None:
        """Count one event that has already happened (a failed call)."""
        at = int(time.time() if now is None else now)
        await self._db.execute(ADD, (limit.bucket(key), limit.slot(at)))


async def _check(tx: Transaction, limit: Limit, key: str, at: int) -> Refused | None:
    return _refused(limit, await tx.fetchone(SUM, (limit.bucket(key), at - limit.window)), at)


def _refused(limit: Limit, row: Row | None, at: int) -> Refused | None:
    if row is None:
        return None
    total, oldest = row[0], row[1]
    if total < limit.count:
        return None
    return Refused(limit, max(1, (oldest or at) + limit.window - at))
