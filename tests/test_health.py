"""/health tells what the service can do, and the server refuses a database it cannot write.

A write that fails while reads still work is made real, without privileges: the
server process is allowed to write files of at most 0 bytes (RLIMIT_FSIZE), as
on a full disk, and ignores SIGXFSZ so that writes fail instead of killing it.
"""

from __future__ import annotations

import asyncio
import os
import re
import resource
import signal
import sqlite3
from pathlib import Path

import aiohttp
from conftest import GONDULF, Outside
from support.server_process import running_server
from support.signin import World

from gondulf.services.health import FRESH_FOR


def _no_more_writes() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # kept across exec: a write fails instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def _ignore_sigxfsz() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


async def _health(url: str) -> tuple[int, dict[str, object]]:
    async with aiohttp.ClientSession() as session, session.get(url + "health") as response:
        return response.status, await response.json()


async def test_health_is_503_with_the_reason_when_writes_fail(
    outside: Outside, tmp_path: Path
) -> None:
    async with running_server(
        GONDULF, outside.env, tmp_path, port=outside.port, preexec_fn=_ignore_sigxfsz
    ) as server:
        assert await _health(server.url) == (
            200,
            {"status": "healthy", "database": {"read": "ok", "write": "ok"}},
        )
        resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (0, 0))  # the disk fills
        await asyncio.sleep(FRESH_FOR + 0.2)
        status, body = await _health(server.url)
        assert status == 503 and body["status"] == "unhealthy"
        assert body["database"]["read"] == "ok"  # type: ignore[index]
        assert body["database"]["write"] not in ("ok", "busy")  # type: ignore[index]


async def test_health_stays_200_while_a_write_only_waits(world: World, tmp_path: Path) -> None:
    """Another process holding the database in a long transaction is not a failure."""
    other = sqlite3.connect(tmp_path / "gondulf.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        response = await world.gondulf.get("/health")
        body = await response.json()
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert response.status == 200 and body["database"] == {"read": "ok", "write": "busy"}


async def test_the_server_refuses_a_database_it_cannot_write(
    outside: Outside, tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    migrate = await asyncio.create_subprocess_exec(
        GONDULF,
        "migrate",
        env={**base, **outside.env},
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert await migrate.wait() == 0
    serve = await asyncio.create_subprocess_exec(
        GONDULF,
        "serve",
        "--port",
        str(outside.port),
        env={**base, **outside.env},
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=_no_more_writes,
    )
    _, err = await asyncio.wait_for(serve.communicate(), 30)
    text = err.decode()  # (coverage, when measuring, fails to save its own data here)
    lines = [line for line in text.splitlines() if line.startswith("gondulf: error")]
    assert serve.returncode == 4 and len(lines) == 1, text
    assert lines[0].startswith("gondulf: error: cannot ")
    assert f"the database {tmp_path / 'gondulf.db'}:" in lines[0]
    assert not re.search(r'File ".*/gondulf/', text)  # no traceback through Gondulf's code
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:  # nothing was harmed
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
