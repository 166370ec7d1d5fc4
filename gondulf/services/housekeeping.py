"""Purging what has expired, from the server's background task or `gondulf purge`.

Used authorization codes and expired or revoked tokens are kept one more day,
so a replayed code or a reused refresh token is still recognised and answered
by revoking what it produced.
"""

from __future__ import annotations

import asyncio
import logging
import time

from gondulf.storage.database import Database

log = logging.getLogger("gondulf.housekeeping")

GRACE = 24 * 3600
RATE_LIMIT_KEEP = 24 * 3600

PURGES = {
    "sign-in sessions": "DELETE FROM auth_sessions WHERE expires_at <= :now",
    "grants page sessions": "DELETE FROM grant_sessions WHERE expires_at <= :now",
    "authorization codes": "DELETE FROM authorization_codes WHERE expires_at <= :now - :grace",
    "tokens": "DELETE FROM tokens WHERE expires_at <= :now - :grace "
              "OR revoked_at <= :now - :grace",
    "rate-limit counters": "DELETE FROM rate_limits WHERE window_start <= :now - :keep",
    "cached client information": "DELETE FROM client_cache WHERE expires_at <= :now",
}


async def purge(db: Database, now: float | None = None) -> dict[str, int]:
    """Delete everything expired; returns how many rows of each kind went."""
    params = {"now": int(time.time() if now is None else now), "grace": GRACE,
              "keep": RATE_LIMIT_KEEP}
    removed = {}
    async with db.transaction() as tx:
        for name, sql in PURGES.items():
            removed[name] = await tx.execute(sql, params)
    return removed


async def purge_forever(db: Database, interval: float) -> None:
    """The server's background task: purge every `interval` seconds until cancelled."""
    while True:
        await asyncio.sleep(interval)
        try:
            removed = await purge(db)
        except Exception:
            log.exception("purge failed; trying again in %s s", interval)
            continue
        if any(removed.values()):
            log.info("purged %s", ", ".join(f"{n} {k}" for k, n in removed.items() if n))
