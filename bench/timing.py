"""Wall time of short commands: `gondulf --help` and `check-config` vs a bare Typer app."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.processes import GONDULF, ROOT


async def _wall(command: list[str], env: dict[str, str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        process = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await process.wait()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


async def cli_figures(runs: int) -> dict[str, Any]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    bare = [sys.executable, str(ROOT / "bench" / "bare_typer.py")]
    with tempfile.TemporaryDirectory() as folder:
        env = {
            **base,
            "GONDULF_SECRET_KEY": "s" * 40,
            "GONDULF_BASE_URL": "https://auth.example/",
            "GONDULF_SMTP_HOST": "smtp.example",
            "GONDULF_DATABASE_URL": f"sqlite:///{Path(folder) / 'g.db'}",
        }
        figures = {}
        for name, command, bare_command in (
            ("gondulf --help", [GONDULF, "--help"], [*bare, "--help"]),
            ("gondulf check-config", [GONDULF, "check-config"], [*bare, "one"]),
        ):
            anchor = await _wall(bare_command, base, runs)
            target = await _wall(command, env, runs)
            figures[name] = {
                "ms": round(target * 1000),
                "bare_typer_ms": round(anchor * 1000),
                "ratio": round(target / anchor, 2),
            }
    return figures
