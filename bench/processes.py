"""Starting what the benchmark measures: Gondulf and its anchors, as real processes."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
GONDULF = shutil.which("gondulf", path=str(Path(sys.executable).parent)) or "gondulf"
SERVER_CPU = "1"  # wrk runs on CPU 0, the servers on CPU 1 (when taskset exists)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(cpus: str, command: list[str]) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", cpus, *command] if taskset and os.cpu_count() != 1 else command


@dataclass
class Running:
    url: str
    process: asyncio.subprocess.Process

    def rss_kib(self) -> int:
        """Resident memory of the process and its children (workers)."""
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total


async def wait_until_up(url: str, seconds: float = 20) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(int(seconds / 0.1)):
            try:
                async with session.get(url) as response:
                    await response.read()
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


@asynccontextmanager
async def running(
    command: list[str], env: dict[str, str], probe: str, log: Path, cpus: str = SERVER_CPU
) -> AsyncIterator[Running]:
    with log.open("ab") as log_file:
        process = await asyncio.create_subprocess_exec(
            *pinned(cpus, command), env=env, cwd=log.parent, stdout=log_file, stderr=log_file
        )
        try:
            await wait_until_up(probe)
            yield Running(probe.rsplit("/", 1)[0] + "/", process)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()


def gondulf_command(port: int, workers: int = 1) -> list[str]:
    return [GONDULF, "serve", "--port", str(port), "--workers", str(workers)]


def anchors_command(port: int, database: Path) -> list[str]:
    return [
        sys.executable,
        str(ROOT / "bench" / "anchors.py"),
        "--port",
        str(port),
        "--db",
        str(database),
    ]
