#!/usr/bin/env python3
"""Gondulf's benchmark suite: each figure as a ratio to a bare aiohttp anchor, same run.

    python bench/run.py                        # everything, 3 rounds of 5 s each
    python bench/run.py --only verify,cli --rounds 5 --seconds 10 --json out.json
    python bench/run.py --only tables --sizes 1000,100000,1000000,10000000

Sections: verify (GET /token, introspection, userinfo, metadata, health), redeem (code
redemption and refresh rotation), signin (whole sign-ins, alone and under a token-check
load), workers (--workers 1 vs 2), tables (token tables of several sizes: lookups,
size, purge), cli (`gondulf --help` and `check-config` vs a bare Typer app), and the
server's memory. Everything runs on 127.0.0.1 with the real DNS and SMTP servers the
tests use; wrk (Debian's `wrk`) makes the HTTP load. Target and anchor alternate in
every round, so a noisy machine moves both. See docs/performance.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench import wrk
from bench.processes import (
    GONDULF,
    Running,
    anchors_command,
    free_port,
    gondulf_command,
    running,
)
from bench.tables import table_figures
from bench.timing import cli_figures
from bench.world import World, open_world, outside, sign_in, timed_sign_ins

SECTIONS = ("verify", "redeem", "signin", "workers", "tables", "cli")
Results = dict[str, Any]


async def guarded(section: Awaitable[Results]) -> Results:
    """A section's figures, or what went wrong: one failure does not lose the others."""
    try:
        return await section
    except Exception as exc:
        return {"failed": {"error": f"{type(exc).__name__}: {exc}"}}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


async def interleaved(
    rounds: int,
    pairs: dict[str, tuple[Callable[[], Awaitable[wrk.Load]], Callable[[], Awaitable[wrk.Load]]]],
) -> Results:
    """Each target and its anchor, alternating, `rounds` times: medians and the ratio."""
    loads: dict[str, dict[str, list[wrk.Load]]] = {
        name: {"target": [], "anchor": []} for name in pairs
    }
    for _ in range(rounds):
        for name, (target, anchor) in pairs.items():
            loads[name]["anchor"].append(await anchor())
            loads[name]["target"].append(await target())
    results: Results = {}
    for name, runs in loads.items():
        target_rps = median([load.rps for load in runs["target"]])
        anchor_rps = median([load.rps for load in runs["anchor"]])
        results[name] = {
            "rps": round(target_rps),
            "anchor_rps": round(anchor_rps),
            "ratio": round(target_rps / anchor_rps, 2),
            "p50_ms": round(median([load.p50 for load in runs["target"]]), 2),
            "p99_ms": round(median([load.p99 for load in runs["target"]]), 2),
            "errors": sum(load.errors for load in runs["target"]),
        }
    return results


async def credential(env: dict[str, str], folder: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        GONDULF,
        "resource-servers",
        "add",
        f"bench-{time.time_ns()}",
        "--json",
        env=env,
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    return str(json.loads(out)["credential"])


async def verify_section(
    world: World,
    gondulf: Running,
    anchors: Running,
    env: dict[str, str],
    folder: Path,
    rounds: int,
    seconds: float,
) -> Results:
    token = (await sign_in(world, gondulf.url, 0))["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    secret = await credential(env, folder)
    introspect = {
        "method": "POST",
        "body": f"token={token}",
        "headers": {
            "Authorization": f"Bearer {secret}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    }

    def target(path: str, **options: Any) -> Callable[[], Awaitable[wrk.Load]]:
        return lambda: wrk.run(gondulf.url + path, seconds, **options)

    def bare() -> Awaitable[wrk.Load]:
        return wrk.run(anchors.url + "json", seconds)

    pairs = {
        "GET /token": (target("token", headers=bearer), bare),
        "POST /introspect": (target("introspect", **introspect), bare),
        "GET /userinfo": (target("userinfo", headers=bearer), bare),
        "GET metadata": (target(".well-known/oauth-authorization-server"), bare),
        "GET /health": (target("health"), bare),
        "bare in-thread lookup": (
            lambda: wrk.run(anchors.url + "lookup", seconds, headers=bearer),
            bare,
        ),
    }
    return await interleaved(rounds, pairs)


async def _redeem_all(url: str, forms: list[dict[str, str]], concurrency: int = 16) -> float:
    """Post every form, `concurrency` at a time; forms a second."""
    queue = list(forms)
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:

        async def poster() -> None:
            while queue:
                form = queue.pop()
                async with session.post(url, data=form) as response:
                    if response.status != 200:
                        raise RuntimeError(f"{url}: {response.status} {await response.text()}")

        await asyncio.gather(*(poster() for _ in range(concurrency)))
    return len(forms) / (time.perf_counter() - started)


async def redeem_section(
    world: World, gondulf: Running, anchors: Running, database: Path, rounds: int, count: int
) -> Results:
    from bench.tables import issue_codes, issue_refresh_tokens

    client = {"client_id": world.client_id, "redirect_uri": world.app.url("/callback")}
    figures: dict[str, dict[str, list[float]]] = {
        "code redemption": {"target": [], "anchor": []},
        "refresh rotation": {"target": [], "anchor": []},
    }
    for _ in range(rounds):
        anchor_codes = await issue_codes(database, world, count)
        figures["code redemption"]["anchor"].append(
            await _redeem_all(anchors.url + "redeem", [{"code": code} for code, _ in anchor_codes])
        )
        codes = await issue_codes(database, world, count)
        figures["code redemption"]["target"].append(
            await _redeem_all(
                gondulf.url + "token",
                [
                    {
                        "grant_type": "authorization_code",
                        "code": code,
                        "code_verifier": verifier,
                        **client,
                    }
                    for code, verifier in codes
                ],
            )
        )
        anchor_codes = await issue_codes(database, world, count)
        figures["refresh rotation"]["anchor"].append(
            await _redeem_all(anchors.url + "redeem", [{"code": code} for code, _ in anchor_codes])
        )
        refresh = await issue_refresh_tokens(database, world, count)
        figures["refresh rotation"]["target"].append(
            await _redeem_all(
                gondulf.url + "token",
                [
                    {
                        "grant_type": "refresh_token",
                        "refresh_token": token,
                        "client_id": world.client_id,
                    }
                    for token in refresh
                ],
            )
        )
    return {
        name: {
            "per_s": round(median(runs["target"])),
            "anchor_per_s": round(median(runs["anchor"])),
            "ratio": round(median(runs["target"]) / median(runs["anchor"]), 2),
        }
        for name, runs in figures.items()
    }


async def signin_section(world: World, gondulf: Running, rounds: int, seconds: float) -> Results:
    token = (await sign_in(world, gondulf.url, 1))["access_token"]
    alone: list[float] = []
    loaded: list[float] = []
    counts = {"alone": 0, "loaded": 0}
    for round_ in range(rounds):
        durations = await timed_sign_ins(world, gondulf.url, seconds, start=round_ * 500)
        alone += durations
        counts["alone"] += len(durations)
        load = asyncio.create_task(
            wrk.run(
                gondulf.url + "token", seconds + 1, headers={"Authorization": f"Bearer {token}"}
            )
        )
        await asyncio.sleep(0.5)
        durations = await timed_sign_ins(world, gondulf.url, seconds, start=round_ * 500 + 250)
        await load
        loaded += durations
        counts["loaded"] += len(durations)
    p50_alone, p50_loaded = median(alone) * 1000, median(loaded) * 1000
    return {
        "alone": {
            "per_s": round(counts["alone"] / (rounds * seconds), 1),
            "p50_ms": round(p50_alone),
        },
        "under token-check load": {
            "per_s": round(counts["loaded"] / (rounds * seconds), 1),
            "p50_ms": round(p50_loaded),
            "p50_vs_alone": round(p50_loaded / p50_alone, 2),
        },
    }


async def workers_section(
    world: World, base: dict[str, str], database: Path, folder: Path, rounds: int, seconds: float
) -> Results:
    rps: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(rounds):
        for count in (1, 2):
            port = free_port()
            server_env = {**base, **world.env(port, database)}
            async with running(
                gondulf_command(port, count),
                server_env,
                f"http://127.0.0.1:{port}/health",
                folder / "gondulf.log",
                cpus="0,1",  # the workers may use both CPUs (wrk shares them)
            ) as g:
                token = (await sign_in(world, g.url, 2))["access_token"]
                load = await wrk.run(
                    g.url + "token", seconds, headers={"Authorization": f"Bearer {token}"}
                )
                rps[count].append(load.rps)
    one, two = median(rps[1]), median(rps[2])
    return {
        "GET /token": {
            "workers_1_rps": round(one),
            "workers_2_rps": round(two),
            "ratio": round(two / one, 2),
        }
    }


async def main(args: argparse.Namespace) -> Results:
    only = set(args.only.split(",")) if args.only else set(SECTIONS)
    results: Results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.node()}: {platform.machine()}, {os_cpus()} CPUs, "
        f"Python {platform.python_version()}",
        "command": " ".join(sys.argv),
        "rounds": args.rounds,
        "seconds": args.seconds,
    }
    with tempfile.TemporaryDirectory() as scratch, outside() as (dns, smtp):
        folder = Path(scratch)
        database = folder / "gondulf.db"
        world = await open_world(dns, smtp)
        port, anchor_port = free_port(), free_port()
        base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
        env = {**base, **world.env(port, database)}
        if args.metrics:
            env["GONDULF_METRICS"] = "true"
        needs_server = only & {"verify", "redeem", "signin"}
        if needs_server:
            async with (
                running(
                    gondulf_command(port),
                    env,
                    f"http://127.0.0.1:{port}/health",
                    folder / "gondulf.log",
                ) as gondulf,
                running(
                    anchors_command(anchor_port, database),
                    base,
                    f"http://127.0.0.1:{anchor_port}/json",
                    folder / "anchors.log",
                ) as anchors,
            ):
                await sign_in(world, gondulf.url, 3)  # warm-up
                results["rss_kib_after_warm_up"] = gondulf.rss_kib()
                if "verify" in only:
                    results["verify"] = await guarded(
                        verify_section(
                            world, gondulf, anchors, env, folder, args.rounds, args.seconds
                        )
                    )
                    results["rss_kib_after_verify"] = gondulf.rss_kib()
                if "redeem" in only:
                    results["redeem"] = await guarded(
                        redeem_section(world, gondulf, anchors, database, args.rounds, args.codes)
                    )
                if "signin" in only:
                    results["signin"] = await guarded(
                        signin_section(world, gondulf, args.rounds, args.seconds)
                    )
                results["rss_kib_after_run"] = gondulf.rss_kib()
        if "workers" in only:
            results["workers"] = await guarded(
                workers_section(world, base, database, folder, args.rounds, args.seconds)
            )
        await world.homepages.stop()
        await world.app.stop()
    if "tables" in only:
        results["tables"] = await guarded(table_figures([int(n) for n in args.sizes.split(",")]))
    if "cli" in only:
        results["cli"] = await guarded(cli_figures(runs=10))
    return results


def os_cpus() -> int:
    return os.cpu_count() or 1


def print_table(results: Results) -> None:
    for section in (*SECTIONS, "rss"):
        if section == "rss" and "rss_kib_after_verify" in results:
            grown = results["rss_kib_after_verify"] - results["rss_kib_after_warm_up"]
            print(f"\nrss over the token checks: {grown:+} KiB")
        if section == "rss" and "rss_kib_after_run" in results:
            grown = results["rss_kib_after_run"] - results["rss_kib_after_warm_up"]
            print(
                f"\nrss: {results['rss_kib_after_warm_up']} KiB after warm-up, "
                f"{results['rss_kib_after_run']} KiB after the run ({grown:+} KiB)"
            )
            continue
        if section not in results:
            continue
        print(f"\n{section}")
        for name, figures in results[section].items():
            cells = ", ".join(f"{key} {value}" for key, value in figures.items())
            print(f"  {name:28} {cells}")


if __name__ == "__main__":
    if not wrk.available():
        sys.exit("bench: wrk is not installed (apt-get install wrk)")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--codes", type=int, default=400, help="codes redeemed per round")
    parser.add_argument(
        "--sizes",
        default="1000,100000,1000000",
        help="token table sizes (10000000 takes minutes and ~6 GB)",
    )
    parser.add_argument(
        "--metrics",
        action="store_true",
        help="serve with GONDULF_METRICS=true, to see what counting every request costs",
    )
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments))
    arguments.json.write_text(json.dumps(figures, indent=2) + "\n")
    print_table(figures)
    print(f"\nwritten to {arguments.json}")
