"""`gondulf init`: write a production `.env` from a few answers, then check it."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, TypeVar
from urllib.parse import urlsplit

import typer

from gondulf.cli.checks import report_settings
from gondulf.cli.output import console, fail
from gondulf.errors import EXIT_USAGE
from gondulf.files import FILE_MODE

T = TypeVar("T")
DEFAULT_SMTP_PORT = 587
DEFAULT_DATABASE = Path("data/gondulf.db")


def init(
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", metavar="URL", help="Public https URL of this server (the issuer)."
        ),
    ] = None,
    smtp_host: Annotated[
        str | None, typer.Option("--smtp-host", metavar="HOST", help="SMTP server.")
    ] = None,
    smtp_port: Annotated[
        int | None,
        typer.Option(
            "--smtp-port",
            min=1,
            max=65535,
            metavar="PORT",
            help=f"SMTP port [default: {DEFAULT_SMTP_PORT}, STARTTLS; 465 is TLS at once].",
        ),
    ] = None,
    smtp_username: Annotated[
        str | None, typer.Option("--smtp-username", metavar="USER", help="SMTP login, if any.")
    ] = None,
    smtp_password: Annotated[
        str | None,
        typer.Option(
            "--smtp-password",
            metavar="PASSWORD",
            help="SMTP password, or `-` to read it from the first line of standard input "
            "(a password on the command line lands in the shell's history).",
        ),
    ] = None,
    smtp_from: Annotated[
        str | None,
        typer.Option(
            "--smtp-from",
            metavar="ADDRESS",
            help="Sender of the code emails [default: gondulf@ the base URL's host].",
        ),
    ] = None,
    database: Annotated[
        Path | None,
        typer.Option(
            "--database",
            metavar="PATH",
            help=f"The SQLite file [default: {DEFAULT_DATABASE} under the working directory].",
        ),
    ] = None,
    trusted_proxies: Annotated[
        str,
        typer.Option(
            "--trusted-proxies",
            metavar="ADDRESSES",
            help="The reverse proxy in front of Gondulf (the deploy kit's Caddy or nginx on "
            "this machine); empty when clients connect directly.",
        ),
    ] = "127.0.0.1",
    env_file: Annotated[
        Path, typer.Option("--env-file", metavar="PATH", help="The file to write.")
    ] = Path(".env"),
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace an existing file (with a new secret key: sign-ins in progress end).",
        ),
    ] = False,
) -> None:
    """Write a production .env from a few questions or options, then check it."""
    from gondulf.config import load_settings
    from gondulf.errors import ConfigError

    env_file = env_file.absolute()
    if env_file.exists() and not force:
        fail(f"{env_file} already exists; add --force to replace it", EXIT_USAGE)
    interactive = sys.stdin.isatty()
    if smtp_password == "-":  # noqa: S105 - standard input holds the password, not answers
        smtp_password, interactive = sys.stdin.readline().rstrip("\r\n"), False
    answers = _Answers(interactive)
    base_url = answers.need(base_url, "--base-url", "Public URL of this server (https://...)")
    smtp_host = answers.need(smtp_host, "--smtp-host", "SMTP server host")
    port = smtp_port or answers.ask("SMTP port", DEFAULT_SMTP_PORT, int)
    username = smtp_username
    if username is None:
        username = answers.ask("SMTP login (empty for none)", "", str)
    password = smtp_password
    if username and password is None:
        password = answers.need(None, "--smtp-password", "SMTP password", secret=True)
    sender = smtp_from or answers.ask(
        "Sender address", f"gondulf@{urlsplit(base_url or '').hostname or 'localhost'}", str
    )
    answers.stop_if_missing()

    values = {
        "GONDULF_BASE_URL": base_url or "",
        "GONDULF_SECRET_KEY": _new_secret(),
        "GONDULF_DATABASE_URL": f"sqlite:///{(database or DEFAULT_DATABASE).absolute()}",
        "GONDULF_SMTP_HOST": smtp_host or "",
        "GONDULF_SMTP_PORT": str(port),
        "GONDULF_SMTP_USERNAME": username or "",
        "GONDULF_SMTP_PASSWORD": password or "",
        "GONDULF_SMTP_FROM": sender,
        "GONDULF_TRUSTED_PROXIES": trusted_proxies,
    }
    try:  # the same rules serve applies, before anything is written
        load_settings(values, env_file=None)
    except ConfigError as exc:
        lines = [f"nothing was written; {len(exc.problems)} problem(s):"]
        fail("\n".join(lines + [f"  {problem}" for problem in exc.problems]), exc.exit_code)
    _write_private(env_file, dotenv_text(values))
    console.print(f"Wrote {env_file} (readable by its owner only).", markup=False)
    report_settings(env_file, json_output=False)
    console.print(
        "Next: `gondulf send-test-email YOU@EXAMPLE.COM`, then `gondulf serve` (README: Deploy).",
        markup=False,
    )


class _Answers:
    """Options given, else questions at a terminal, else a list of the missing options."""

    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self.missing: list[str] = []

    def need(self, given: str | None, option: str, question: str, secret: bool = False) -> str:
        if given:
            return given
        if not self.interactive:
            self.missing.append(option)
            return ""
        answer: str = typer.prompt(question, hide_input=secret, err=True)
        return answer.strip()

    def ask(self, question: str, default: T, kind: type[T]) -> T:
        if not self.interactive:
            return default
        answer: T = typer.prompt(question, default=default, type=kind, err=True)
        return answer

    def stop_if_missing(self) -> None:
        if self.missing:
            fail(
                "not at a terminal to ask, so give " + ", ".join(self.missing) + " (nothing was "
                "written)",
                EXIT_USAGE,
            )


def _new_secret() -> str:
    import secrets

    return secrets.token_urlsafe(48)


def dotenv_text(values: dict[str, str]) -> str:
    """`.env` lines python-dotenv reads back exactly: single-quoted, `\\` and `'` escaped."""
    lines = ["# Written by `gondulf init`. Every setting: README.md or .env.example."]
    for name, value in values.items():
        quoted = value.replace("\\", "\\\\").replace("'", "\\'")
        lines.append(f"{name}='{quoted}'")
    return "\n".join(lines) + "\n"


def _write_private(path: Path, text: str) -> None:
    """Write `path` as 0600 in one step: a reader sees the old file or the whole new one."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
