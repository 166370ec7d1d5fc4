#!/usr/bin/env python3
"""Measure one token check: the in-thread SQLite read Gondulf uses vs an aiosqlite query.

    python scripts/bench_token_lookup.py [--tokens 10000] [--lookups 20000]

Prints lookups per second for each way, on this machine, with a database of
`--tokens` live tokens. Touches only a temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gondulf.services.bookkeeping import Bookkeeping
from gondulf.services.digests import token_digest
from gondulf.services.metrics import Metrics
from gondulf.services.tokens.issuing import TokenService
from gondulf.storage.sqlite.migrations import apply_migrations
from gondulf.storage.sqlite.store import SQLiteStore
from gondulf.storage.sqlite.tokens import COLUMNS


async def main(tokens: int, lookups: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = await SQLiteStore.open(Path(folder) / "bench.db")
        db = storage.database
        await apply_migrations(db)
        store = TokenService(storage, Bookkeeping(), Metrics())
        issued = [
            await store.issue(
                me="https://jane.example/",
                client_id="https://app.example/",
                scope=("create",),
                profile=None,
                family_id=str(i),
                access_lifetime=3600,
                refresh_lifetime=None,
            )
            for i in range(tokens)
        ]
        sample = [issued[i % tokens].access_token for i in range(lookups)]
        sql = f"SELECT {COLUMNS} FROM tokens WHERE token_hash = ?"

        start = time.perf_counter()
        for token in sample:
            assert await store.lookup(token) is not None
        in_thread = lookups / (time.perf_counter() - start)

        start = time.perf_counter()
        for token in sample:
            assert await db.fetchone(sql, (token_digest(token),)) is not None
        hopping = lookups / (time.perf_counter() - start)
        await db.close()
    print(f"{tokens} tokens, {lookups} lookups, one process")
    print(f"  in-thread read (the Store's hot path): {in_thread:7.0f} lookups/s")
    print(f"  aiosqlite query (worker thread):    {hopping:10.0f} lookups/s")
    print(f"  ratio: {in_thread / hopping:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    args = parser.parse_args()
    asyncio.run(main(args.tokens, args.lookups))
