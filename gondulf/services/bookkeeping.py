"""Writes nobody waits for: when a token or a credential was last used.

A token check must never fail, nor wait, because of its own bookkeeping: the
write runs beside the answer, at most one at a time for the same thing, and
if the database is busy or failing it is logged and dropped. The services
drain what is still running when they close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("gondulf.bookkeeping")


class Bookkeeping:
    def __init__(self) -> None:
        self._pending: dict[str, asyncio.Task[None]] = {}

    def note(self, key: str, write: Callable[[], Awaitable[None]]) -> None:
        """Run `write` in the background unless one for `key` is still running."""
        if key in self._pending:
            return
        task = asyncio.ensure_future(write())
        self._pending[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))

    def _finished(self, key: str, task: asyncio.Task[None]) -> None:
        self._pending.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            log.warning("bookkeeping write for %s dropped: %s", key.split(":")[0], task.exception())

    async def drain(self) -> None:
        await asyncio.gather(*self._pending.values(), return_exceptions=True)
