"""Abuse limits: what each party may do, counted in the database so every process shares it.

Each limit counts what one party did (a client address, an email address, a
domain, a sign-in) over a sliding window. Checking several limits and
counting the event in each is one atomic step of the storage: no two
concurrent requests can both slip under a limit, and an event refused by one
limit is counted by none.
"""

from __future__ import annotations

import functools
import ipaddress
import time
from collections.abc import Sequence
from dataclasses import dataclass

from gondulf.config import Limits
from gondulf.services.metrics import Metrics
from gondulf.storage.records import Counted, Limit, Refused
from gondulf.storage.repositories import RateLimits


@dataclass(frozen=True)
class AbuseLimits:
    """The limits of each party, from the settings (GONDULF_LIMIT_*)."""

    signins_per_ip: Limit
    codes_per_ip: Limit
    codes_per_address: Limit
    codes_per_domain: Limit
    wrong_codes_per_ip: Limit
    failed_api_per_ip: Limit
    codes_per_session: int  # counted in the sign-in's own state, named CODES_PER_SESSION

    @classmethod
    def from_settings(cls, limits: Limits) -> AbuseLimits:
        def limit(name: str, count: int) -> Limit:
            return Limit(name, count, limits.window)

        return cls(
            limit("signins-per-ip", limits.signins_per_ip),
            limit("codes-per-ip", limits.codes_per_ip),
            limit("codes-per-address", limits.codes_per_address),
            limit("codes-per-domain", limits.codes_per_domain),
            limit("wrong-codes-per-ip", limits.wrong_codes_per_ip),
            limit("failed-api-per-ip", limits.failed_api_per_ip),
            limits.codes_per_session,
        )


CODES_PER_SESSION = "codes-per-session"
IPV6_SITE_PREFIX = 48  # what one customer of a provider (or a free tunnel) may hold


@functools.lru_cache(maxsize=4096)  # on every API call: parse each address once
def address_key(address: str) -> str:
    """The client address as a limit counts it: IPv6 by the /48 one site may hold whole."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_SITE_PREFIX), strict=False))
    return str(ip)


def _now(now: float | None) -> int:
    return int(time.time() if now is None else now)


RECENT_FOR = 1.0  # seconds a "not reached" answer is reused by this process
MAX_RECENT = 10_000


class RateLimiter:
    """The storage's counters, at the current time.

    `reached` is on the hot path of every API call: its answer is reused for
    RECENT_FOR seconds, and forgotten at once when this process counts an event
    for the same key (another process's events are seen within RECENT_FOR).
    Every refusal `acquire` answers is counted in the metrics by the limit's name (a
    caller refusing because a limit is `reached` counts its own).
    """

    def __init__(self, counters: RateLimits, metrics: Metrics) -> None:
        self._counters = counters
        self._metrics = metrics
        self._recent: dict[tuple[str, str], tuple[float, Refused | None]] = {}

    async def acquire(
        self, checks: Sequence[tuple[Limit, str]], now: float | None = None
    ) -> Counted | Refused:
        """Count one event under every (limit, key) unless one of them is reached."""
        outcome = await self._counters.acquire(checks, _now(now))
        if isinstance(outcome, Refused):
            self._metrics.refused(outcome.limit.name)
        return outcome

    async def refund(self, counted: Counted) -> None:
        """Take back events that did not happen after all (an email that failed)."""
        await self._counters.refund(counted)

    async def reached(self, limit: Limit, key: str, now: float | None = None) -> Refused | None:
        moment = time.monotonic()
        recent = self._recent.get((limit.name, key))
        if recent is not None and moment - recent[0] < RECENT_FOR:
            return recent[1]
        answer = await self._counters.reached(limit, key, _now(now))
        if len(self._recent) >= MAX_RECENT:
            self._recent = {k: v for k, v in self._recent.items() if moment - v[0] < RECENT_FOR}
        self._recent[(limit.name, key)] = (moment, answer)
        return answer

    async def count(self, limit: Limit, key: str, now: float | None = None) -> None:
        """Count one event that has already happened (a failed call)."""
        await self._counters.count(limit, key, _now(now))
        self._recent.pop((limit.name, key), None)
