"""A write transaction held open in Gondulf's own database: what a busy database looks like."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from gondulf.storage.sqlite.store import SQLiteStore
from gondulf.web.keys import SERVICES


@contextlib.asynccontextmanager
async def stuck_write(app: web.Application | None) -> AsyncIterator[None]:
    """Inside, another task holds a write transaction of `app`'s database."""
    assert app is not None
    store = app[SERVICES].store
    assert isinstance(store, SQLiteStore)
    release = asyncio.Event()

    async def writer() -> None:
        async with store.database.transaction():
            await release.wait()

    task = asyncio.create_task(writer())
    await asyncio.sleep(0.05)  # the writer holds the transaction by now
    try:
        yield
    finally:
        release.set()
        await task
