"""`gondulf serve --workers N`: processes share the port and the database, and stay running."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

from conftest import GONDULF, Outside
from support.server_process import running_server
from support.signin import RemoteGondulf, World, query_of


def workers_of(pid: int) -> set[int]:
    return {int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}


async def until(condition: object, timeout: float = 15) -> None:
    async def poll() -> None:
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.05)

    await asyncio.wait_for(poll(), timeout)


async def test_a_sign_in_survives_the_worker_it_started_on(
    outside: Outside, tmp_path: Path
) -> None:
    async with running_server(
        GONDULF, outside.env, tmp_path, "--workers", "2", port=outside.port
    ) as server:
        pid = server.process.pid
        await until(lambda: len(workers_of(pid)) == 2)
        browser = RemoteGondulf(server.url, new_connection_each_time=True)
        world = World(
            browser, outside.issuer, outside.dns, outside.smtp, outside.homepage, outside.app
        )
        try:
            page = await world.code_page()
            before = workers_of(pid)
            for worker in before:  # every worker that served the first steps is gone
                os.kill(worker, signal.SIGKILL)
            await until(lambda: len(workers_of(pid)) == 2 and not workers_of(pid) & before)
            response = await world.post("/authorize/code", page, code=world.last_code())
            response = await world.post(
                "/authorize/consent",
                await response.text(),
                action="approve",
                scope=["profile", "create"],
            )
            code = query_of(response.headers["Location"])["code"]
            token = await world.redeem("/token", code)
            assert token.status == 200
            survivors = workers_of(pid)
        finally:
            await browser.close()
    assert server.process.returncode == 0  # SIGTERM stopped every worker, then itself
    assert not any(Path(f"/proc/{worker}").exists() for worker in survivors)
    assert "exited with -9; starting another" in server.log


async def test_workers_refuse_a_database_they_cannot_write_in_one_line(
    outside: Outside, tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the database folder should be")
    env = {**base, **outside.env, "GONDULF_DATABASE_URL": f"sqlite:///{blocked}/g.db"}
    process = await asyncio.create_subprocess_exec(
        GONDULF,
        "serve",
        "--workers",
        "2",
        "--port",
        str(outside.port),
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 30)
    lines = [line for line in err.decode().splitlines() if "error" in line]
    assert process.returncode == 4 and len(lines) == 1, err.decode()
    assert lines[0].startswith(f"gondulf: error: cannot open the database {blocked}/g.db")
