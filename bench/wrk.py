"""Running wrk (Debian's `wrk`) and reading what it prints."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.processes import pinned

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
LUA = """wrk.method = "{method}"
wrk.body = "{body}"
{headers}
"""


@dataclass(frozen=True)
class Load:
    """One wrk run's result: requests a second and latency percentiles in milliseconds."""

    rps: float
    p50: float
    p99: float
    errors: int


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text)
    if match is None:
        raise ValueError(f"wrk printed an unexpected latency: {text!r}")
    return float(match.group(1)) * UNITS[match.group(2)]


def parse(output: str) -> Load:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), "
        r"timeout (\d+)",
        output,
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return Load(rps, p50, p99, errors)


def available() -> bool:
    return shutil.which("wrk") is not None


async def run(
    url: str,
    seconds: float,
    *,
    connections: int = 32,
    method: str = "GET",
    body: str = "",
    headers: dict[str, str] | None = None,
) -> Load:
    """`wrk -t1 -c32 --latency` against `url` for `seconds`, on CPU 0."""
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in (headers or {}).items())
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "request.lua"
        script.write_text(LUA.format(method=method, body=body, headers=lines))
        process = await asyncio.create_subprocess_exec(
            *pinned(
                "0",
                [
                    "wrk",
                    "-t1",
                    f"-c{connections}",
                    f"-d{seconds:g}s",
                    "--latency",
                    "-s",
                    str(script),
                    url,
                ],
            ),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed: {err.decode()}")
    return parse(out.decode())
