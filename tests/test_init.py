"""`gondulf init`: a production .env from options or questions: private, checked, kept."""

from __future__ import annotations

import asyncio
import fcntl
import os
import stat
import termios
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from conftest import GONDULF, CliResult
from dotenv import dotenv_values

from gondulf.config import load_settings

Cli = Callable[..., Awaitable[CliResult]]
PASSWORD = 'p\'a\\ss $x #1 "q" ${HOME}'  # every character a .env could mangle
OPTIONS = (
    "--base-url",
    "https://auth.example.com",
    "--smtp-host",
    "smtp.example.com",
    "--smtp-username",
    "gondulf",
)


def written(path: Path) -> dict[str, str]:
    values = dotenv_values(path, interpolate=False)
    return {k: v for k, v in values.items() if v is not None}


async def test_init_writes_a_private_env_that_passes_check_config(cli: Cli, tmp_path: Path) -> None:
    result = await cli("init", *OPTIONS, "--smtp-password", PASSWORD)
    assert result.code == 0, result.stderr
    env = tmp_path / ".env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    values = written(env)
    assert values["GONDULF_SMTP_PASSWORD"] == PASSWORD  # read back exactly, nothing expanded
    assert values["GONDULF_DATABASE_URL"] == f"sqlite:///{tmp_path / 'data' / 'gondulf.db'}"
    assert values["GONDULF_SMTP_FROM"] == "gondulf@auth.example.com"
    assert len(values["GONDULF_SECRET_KEY"]) >= 32
    assert "PASS the configuration is valid" in result.stdout  # check-config's own report
    assert PASSWORD not in result.stdout + result.stderr
    settings = load_settings({}, env_file=env)  # what serve will read
    assert settings.smtp.password == PASSWORD and settings.issuer == "https://auth.example.com/"
    checked = await cli("check-config")
    assert checked.code == 0, checked.stdout


async def test_each_init_makes_a_new_secret(cli: Cli, tmp_path: Path) -> None:
    await cli("init", *OPTIONS, "--smtp-password", "x", "--env-file", "one.env")
    await cli("init", *OPTIONS, "--smtp-password", "x", "--env-file", "two.env")
    one, two = written(tmp_path / "one.env"), written(tmp_path / "two.env")
    assert one["GONDULF_SECRET_KEY"] != two["GONDULF_SECRET_KEY"]


async def test_init_never_replaces_a_file_without_force(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("GONDULF_PORT=9000\n")
    result = await cli("init", *OPTIONS, "--smtp-password", "x")
    assert result.code == 2 and "already exists; add --force" in result.stderr
    assert (tmp_path / ".env").read_text() == "GONDULF_PORT=9000\n"
    forced = await cli("init", *OPTIONS, "--smtp-password", "x", "--force")
    assert forced.code == 0 and "GONDULF_BASE_URL" in written(tmp_path / ".env")


async def test_init_without_a_terminal_names_the_missing_options(cli: Cli, tmp_path: Path) -> None:
    result = await cli("init", "--smtp-username", "gondulf")
    assert result.code == 2
    assert "give --base-url, --smtp-host, --smtp-password (nothing was written)" in result.stderr
    assert not (tmp_path / ".env").exists()


async def test_init_refuses_settings_serve_would_refuse(cli: Cli, tmp_path: Path) -> None:
    result = await cli("init", "--base-url", "http://auth.example.com", "--smtp-host", "smtp.x")
    assert result.code == 3
    assert "nothing was written" in result.stderr and "GONDULF_BASE_URL" in result.stderr
    assert not (tmp_path / ".env").exists()


async def test_init_reads_a_password_from_standard_input(cli: Cli, tmp_path: Path) -> None:
    result = await cli("init", *OPTIONS, "--smtp-password", "-", input=PASSWORD + "\n")
    assert result.code == 0, result.stderr
    assert written(tmp_path / ".env")["GONDULF_SMTP_PASSWORD"] == PASSWORD


async def test_init_asks_at_a_terminal(tmp_path: Path) -> None:
    """The questions, answered on a real pseudo-terminal; the password is not echoed."""
    controller, terminal = os.openpty()

    def own_terminal() -> None:  # the child's controlling terminal, so getpass finds it
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    process = await asyncio.create_subprocess_exec(
        GONDULF,
        "init",
        cwd=tmp_path,
        env={**base, "NO_COLOR": "1", "TERM": "dumb"},
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        preexec_fn=own_terminal,
    )
    os.close(terminal)
    answers = {
        "Public URL": "https://auth.example.com",
        "SMTP server host": "smtp.example.com",
        "SMTP port": "465",
        "SMTP login": "gondulf",
        "SMTP password": "hunter2-secret",
        "Sender address": "",  # take the default
    }
    seen = transcript = ""
    deadline = time.monotonic() + 30
    try:
        while answers and time.monotonic() < deadline:
            chunk = await asyncio.wait_for(
                asyncio.get_running_loop().run_in_executor(None, os.read, controller, 4096), 30
            )
            seen += chunk.decode(errors="replace")
            transcript += chunk.decode(errors="replace")
            for question in list(answers):
                # Answer once the prompt is whole ("...: "): getpass discards what was typed
                # before it switched echo off, as a terminal user would not type ahead.
                if question in seen and seen.endswith(": "):
                    os.write(controller, answers.pop(question).encode() + b"\n")
                    seen = ""
        rest = b""
        while True:
            try:
                more = await asyncio.wait_for(
                    asyncio.get_running_loop().run_in_executor(None, os.read, controller, 4096),
                    30,
                )
            except OSError:  # the child closed the terminal
                break
            if not more:
                break
            rest += more
        assert await asyncio.wait_for(process.wait(), 30) == 0, rest.decode(errors="replace")
    finally:
        if process.returncode is None:
            process.kill()
        os.close(controller)
    assert not answers
    values = written(tmp_path / ".env")
    assert values["GONDULF_SMTP_PORT"] == "465"
    assert values["GONDULF_SMTP_PASSWORD"] == "hunter2-secret"
    assert values["GONDULF_SMTP_FROM"] == "gondulf@auth.example.com"
    transcript += rest.decode(errors="replace")
    assert "Sender address [gondulf@auth.example.com]" in transcript
    assert "hunter2-secret" not in transcript  # the terminal did not echo it
