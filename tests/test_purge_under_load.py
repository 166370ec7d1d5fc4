"""A purge of a large backlog never stalls the server: requests keep flowing while it runs."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from support.database import stuck_write
from support.signin import World

from gondulf.storage.records import Limit
from gondulf.storage.sqlite import database
from gondulf.storage.sqlite.migrations import apply_migrations
from gondulf.storage.sqlite.store import SQLiteStore

EXPIRED = 20_000
LIVE = 20_000
NOW = 2_000_000_000


def fill(path: Path) -> None:
    """Refresh chains as real use leaves them: each token the parent of the next."""
    with sqlite3.connect(path) as connection:
        rows = []
        for n in range(EXPIRED + LIVE):
            expired = n < EXPIRED
            rows.append(
                (
                    f"t{n}",
                    f"h{n}",
                    "refresh",
                    f"f{n // 10}",
                    f"t{n - 1}" if n % 10 else None,
                    "https://jane.test/",
                    "https://app.test/",
                    "create",
                    NOW - 10**6,
                    NOW - 3 * 86400 if expired else NOW + 86400,
                )
            )
        connection.executemany(
            "INSERT INTO tokens (id, token_hash, kind, family_id, parent_id, me, client_id, "
            "scope, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


async def test_requests_keep_flowing_while_a_large_backlog_is_purged(tmp_path: Path) -> None:
    store = await SQLiteStore.open(tmp_path / "g.db")
    await apply_migrations(store.database)
    await asyncio.to_thread(fill, tmp_path / "g.db")
    purge = asyncio.create_task(store.purge(NOW))
    waits = []
    while not purge.done():
        started = time.perf_counter()
        await store.limits.count(Limit("x", 10), "key", NOW)  # a write, like any sign-in's
        assert await store.tokens.by_hash(f"h{EXPIRED + 5}") is not None  # a token check
        waits.append(time.perf_counter() - started)
    removed = await purge
    await store.close()
    assert removed["tokens"] == EXPIRED
    assert len(waits) > 10  # requests were answered during the purge, not after it
    assert max(waits) < 1.0  # and none waited for the whole purge


async def test_a_request_behind_a_stuck_write_is_a_503_not_a_hang(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "LOCK_WAIT", 0.3)
    assert isinstance(world.gondulf, TestClient)
    async with stuck_write(world.gondulf.app):
        page = await world.gondulf.get("/authorize", params=world.authorize_params(me=None))
        api = await world.gondulf.post("/revoke", data={"token": "x"})
    assert page.status == 503 and "Too busy right now" in await page.text()
    assert api.status == 503 and (await api.json())["error"] == "temporarily_unavailable"
    assert int(api.headers["Retry-After"]) > 0


async def test_a_valid_token_is_answered_while_another_process_holds_the_database(
    world: World, tmp_path: Path
) -> None:
    """Recording the token's use waits for the database; the answer does not."""
    query = await world.sign_in()
    token = (await (await world.redeem("/token", query["code"])).json())["access_token"]
    other = sqlite3.connect(tmp_path / "gondulf.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process, writing for a long time
    try:
        checks = [
            await world.gondulf.get("/token", headers={"Authorization": f"Bearer {token}"}),
            await world.gondulf.get("/userinfo", headers={"Authorization": f"Bearer {token}"}),
        ]
        statuses = [response.status for response in checks]
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert statuses == [200, 200]
