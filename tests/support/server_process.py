"""`gondulf serve` in a real process, for what only the whole program shows (logging, sockets)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from support.smtp_server import free_port


@dataclass
class ServerProcess:
    port: int
    process: asyncio.subprocess.Process
    log: str = field(default="")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


async def wait_for_health(port: int, timeout: float = 15) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(timeout / 0.1)):
            try:
                async with session.get(f"http://127.0.0.1:{port}/health?code=777333") as r:
                    await r.read()
                    return r
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise AssertionError("server did not start")


@asynccontextmanager
async def running_server(
    command: str,
    env: dict[str, str],
    cwd: Path,
    *args: str,
    port: int | None = None,
    preexec_fn: Callable[[], None] | None = None,
) -> AsyncIterator[ServerProcess]:
    """Start `gondulf serve` with exactly `env` (plus PATH and the like); stop it with SIGTERM.

    Its stderr (the log) is in `.log` once the block ends.
    """
    port = port or free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    process = await asyncio.create_subprocess_exec(
        command,
        "serve",
        "--port",
        str(port),
        *args,
        cwd=cwd,
        env={**base, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        preexec_fn=preexec_fn,
    )
    server = ServerProcess(port, process)
    try:
        await wait_for_health(port)
        yield server
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 15)
        server.log = err.decode()
