"""Token tables of many sizes, and the codes and tokens the redemption figures use."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.world import World, pkce
from gondulf.indieauth.request import AuthorizationRequest
from gondulf.services.bookkeeping import Bookkeeping
from gondulf.services.metrics import Metrics
from gondulf.services.tokens.authorization_codes import AuthorizationCodeService
from gondulf.services.tokens.issuing import TokenService
from gondulf.storage.records import Limit
from gondulf.storage.sqlite.migrations import apply_migrations
from gondulf.storage.sqlite.store import SQLiteStore

ME = "https://jane.example/"


async def issue_codes(database: Path, world: World, count: int) -> list[tuple[str, str]]:
    """`count` fresh authorization codes for the world's app: (code, PKCE verifier)."""
    store = await SQLiteStore.open(database)
    codes = AuthorizationCodeService(store.codes)
    issued = []
    try:
        for _ in range(count):
            verifier, challenge = pkce()
            request = AuthorizationRequest(
                world.client_id,
                world.app.url("/callback"),
                "s",
                ("create",),
                challenge,
                "S256",
                None,
                False,
            )
            code = await codes.issue(request, ME, ("create",), None, 600)
            issued.append((code, verifier))
    finally:
        await store.close()
    return issued


async def issue_refresh_tokens(database: Path, world: World, count: int) -> list[str]:
    store = await SQLiteStore.open(database)
    tokens = TokenService(store, Bookkeeping(), Metrics())
    issued = []
    try:
        for n in range(count):
            pair = await tokens.issue(
                me=ME,
                client_id=world.client_id,
                scope=("create",),
                profile=None,
                family_id=f"bench-{time.time_ns()}-{n}",
                access_lifetime=3600,
                refresh_lifetime=86400,
            )
            assert pair.refresh_token is not None
            issued.append(pair.refresh_token)
    finally:
        await store.close()
    return issued


def _fill(path: Path, count: int, expired_share: float) -> list[str]:
    """`count` tokens (a share of them long expired), in refresh chains; some values."""
    now = int(time.time())
    sample: list[str] = []
    with sqlite3.connect(path) as connection:
        batch = []
        for n in range(count):
            value = secrets.token_urlsafe(32) if n % max(1, count // 1000) == 0 else f"v{n}"
            if value[0] != "v":
                sample.append(value)
            expired = n < count * expired_share
            batch.append(
                (
                    f"{n:016x}",
                    hashlib.sha256(value.encode()).hexdigest(),
                    "access" if n % 2 else "refresh",
                    f"f{n // 10}",
                    f"{n - 1:016x}" if n % 10 else None,
                    ME,
                    "https://app.example/",
                    "create",
                    now - 10**6,
                    now - 3 * 86400 if expired else now + 86400,
                )
            )
            if len(batch) == 50_000:
                connection.executemany(
                    "INSERT INTO tokens (id, token_hash, kind, family_id, "
                    "parent_id, me, client_id, scope, created_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
                batch = []
        if batch:
            connection.executemany(
                "INSERT INTO tokens (id, token_hash, kind, family_id, "
                "parent_id, me, client_id, scope, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
        connection.commit()
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sample


async def table_figures(sizes: list[int], expired_share: float = 0.1) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    for size in sizes:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "g.db"
            store = await SQLiteStore.open(path)
            await apply_migrations(store.database)
            sample = await asyncio.to_thread(_fill, path, size, expired_share)
            tokens = TokenService(store, Bookkeeping(), Metrics())
            timings = []
            for value in sample * max(1, 2000 // max(1, len(sample))):
                started = time.perf_counter()
                await tokens.lookup(value)
                timings.append(time.perf_counter() - started)
            size_bytes = path.stat().st_size
            purge = asyncio.create_task(store.purge(int(time.time())))
            waits = []
            purge_started = time.perf_counter()
            while not purge.done():
                started = time.perf_counter()
                await store.limits.count(Limit("bench", 10), "x", int(time.time()))
                waits.append(time.perf_counter() - started)
            removed = await purge
            purge_seconds = time.perf_counter() - purge_started
            await store.close()
        figures[f"{size:,} tokens"] = {
            "lookup_p50_us": round(statistics.median(timings) * 1e6, 1),
            "bytes_per_token": round(size_bytes / size),
            "mb_per_million": round(size_bytes / size * 1e6 / 2**20),
            "purged": removed["tokens"],
            "purge_s": round(purge_seconds, 2),
            "write_p99_during_purge_ms": round(
                sorted(waits)[int(len(waits) * 0.99)] * 1000 if waits else 0, 1
            ),
        }
    return figures
