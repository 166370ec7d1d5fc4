"""Purging what has expired, from the server's background task or `gondulf purge`.

Used authorization codes and expired or revoked tokens are kept one more day
(see the storage's purge), so a replayed code or a reused refresh token is
still recognised and answered by revoking what it produced.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gondulf.storage.repositories import Store

log = logging.getLogger("gondulf.housekeeping")


async def purge(store: Store, now: float | None = None) -> dict[str, int]:
    """Delete everything expired; returns how many rows of each kind went."""
    return await store.purge(int(time.time() if now is None else now))


async def purge_forever(store: Store, interval: float) -> None:
    """The server's background task: purge every `interval` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await purge(store)
        except Exception:
            log.exception("purge failed; trying again in %s s", interval)
            continue
        if any(removed.values()):
            log.info("purged %s", ", ".join(f"{n} {k}" for k, n in removed.items() if n))
