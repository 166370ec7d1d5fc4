"""What the service can do right now, asked at most once a second however often it is asked.

Load balancers poll /health many times a second; the answer is the database's
own (a read and a real tiny write, gondulf.storage), shared by every request
within FRESH_FOR seconds, and only one probe runs at a time.
"""

from __future__ import annotations

import asyncio
import time

from gondulf.storage.records import Health
from gondulf.storage.repositories import Store

FRESH_FOR = 1.0


class HealthMonitor:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._last: tuple[float, Health] | None = None
        self._probing: asyncio.Task[Health] | None = None

    async def current(self) -> Health:
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < FRESH_FOR:
            return self._last[1]
        if self._probing is None:
            self._probing = asyncio.create_task(self._probe())
        probing = self._probing
        try:
            return await asyncio.shield(probing)
        finally:
            if probing.done() and self._probing is probing:
                self._probing = None

    async def _probe(self) -> Health:
        health = await self._store.health(int(time.time()))
        self._last = (time.monotonic(), health)
        return health
