#!/usr/bin/env python3
"""The anchors the benchmark measures Gondulf against: bare aiohttp handlers.

    python bench/anchors.py --port PORT --db PATH

  GET  /json     a small JSON body (the framework's ceiling)
  GET  /lookup   one indexed sqlite3 read on the event loop's thread, then JSON
  POST /redeem   the SQL of a code redemption (use a code up, insert two tokens) in one
                 aiosqlite transaction, then JSON

No access log, no middleware: what aiohttp itself costs on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import secrets
import sqlite3
import time

import aiosqlite
from aiohttp import web

BODY = json.dumps(
    {"me": "https://jane.example/", "client_id": "https://app.example/", "scope": "create"}
)


def make_app(db_path: str) -> web.Application:
    reader = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    app = web.Application()
    state: dict[str, aiosqlite.Connection] = {}
    one_at_a_time = asyncio.Lock()  # one connection: its transactions must not interleave

    async def open_db(app: web.Application):  # type: ignore[no-untyped-def]
        state["db"] = await aiosqlite.connect(db_path, isolation_level=None)
        await state["db"].execute("PRAGMA busy_timeout = 5000")
        await state["db"].execute("PRAGMA journal_mode = WAL")
        await state["db"].execute("PRAGMA synchronous = NORMAL")
        yield
        await state["db"].close()

    async def plain(request: web.Request) -> web.Response:
        return web.Response(text=BODY, content_type="application/json")

    async def lookup(request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").partition(" ")[2]
        digest = hashlib.sha256(token.encode()).hexdigest()
        row = reader.execute(
            "SELECT me, client_id, scope FROM tokens WHERE token_hash = ?", (digest,)
        ).fetchone()
        return web.Response(
            text=json.dumps({"me": row[0], "client_id": row[1], "scope": row[2]}) if row else "{}",
            content_type="application/json",
        )

    async def redeem(request: web.Request) -> web.Response:
        form = await request.post()
        code = str(form.get("code", ""))
        db = state["db"]
        now = int(time.time())
        async with one_at_a_time:
            return await _redeem(db, code, now)

    async def _redeem(db: aiosqlite.Connection, code: str, now: int) -> web.Response:
        await db.execute("BEGIN IMMEDIATE")
        rows = await db.execute_fetchall(
            "UPDATE authorization_codes SET used_at = ? WHERE code_hash = ? AND used_at IS "
            "NULL RETURNING me, client_id, scope",
            (now, hashlib.sha256(code.encode()).hexdigest()),
        )
        tokens = {}
        for kind in ("access", "refresh"):
            value = secrets.token_urlsafe(32)
            tokens[kind] = value
            await db.execute(
                "INSERT INTO tokens (id, token_hash, kind, family_id, me, client_id, scope, "
                "created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    secrets.token_hex(8),
                    hashlib.sha256(value.encode()).hexdigest(),
                    kind,
                    "bench",
                    "https://jane.example/",
                    "https://app.example/",
                    "create",
                    now,
                    now + 3600,
                ),
            )
        await db.execute("COMMIT")
        return web.Response(
            text=json.dumps({"found": bool(rows), **tokens}), content_type="application/json"
        )

    app.cleanup_ctx.append(open_db)
    app.router.add_get("/json", plain)
    app.router.add_get("/lookup", lookup)
    app.router.add_post("/redeem", redeem)
    return app


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    web.run_app(make_app(args.db), host="127.0.0.1", port=args.port, access_log=None, print=None)
