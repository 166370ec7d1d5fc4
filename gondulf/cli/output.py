"""How commands print: Rich for people, plain JSON with --json, one-line errors."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Collection, Coroutine, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from gondulf.errors import EXIT_CONFIG, EXIT_SERVICE, ConfigError, GondulfError

if TYPE_CHECKING:  # the settings and asyncio load only when a command needs them, so
    from gondulf.config import Concern, Settings  # that `gondulf --help` stays quick

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
error_console = Console(stderr=True, highlight=False, soft_wrap=True)

PASS = "[green]PASS[/green]"  # noqa: S105 - a label, not a password
FAIL = "[red]FAIL[/red]"
INFO = "[blue]INFO[/blue]"

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
DevOption = Annotated[
    bool,
    typer.Option(
        "--dev",
        help="The development settings `gondulf serve --dev` uses: its database under "
        "./data, its secret, emails written to the log, loopback and http allowed.",
    ),
]


def fail(message: str, code: int) -> NoReturn:
    """A one-line reason on stderr and the exit code; never a traceback."""
    error_console.print(f"gondulf: error: {escape(message)}")
    raise typer.Exit(code)


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


@contextmanager
def one_line_failures() -> Iterator[None]:
    """Expected failures become a one-line message and their exit code."""
    try:
        yield
    except ConfigError as exc:  # every problem, one a line
        lines = [f"the configuration has {len(exc.problems)} problem(s):"]
        lines += [f"  {problem}" for problem in exc.problems]
        lines.append("(`gondulf check-config` shows every setting and where it comes from)")
        fail("\n".join(lines), EXIT_CONFIG)
    except GondulfError as exc:
        fail(str(exc), exc.exit_code)
    except sqlite3.Error as exc:  # locked by another process past its wait, full, read-only
        fail(f"the database failed: {exc}", EXIT_SERVICE)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's async work, turning expected failures into exit codes."""
    import asyncio

    with one_line_failures():
        return asyncio.run(coroutine)
    raise AssertionError("unreachable")  # pragma: no cover - failures exit above


def load(needs: Collection[Concern], *, dev: bool = False) -> Settings:
    """The settings a command needs, from the environment and `.env`, or its problems."""
    from gondulf.config import load_settings

    with one_line_failures():
        return load_settings(needs=needs, dev=dev)
    raise AssertionError("unreachable")  # pragma: no cover - failures exit above


def load_database_settings(dev: bool) -> Settings:
    """The settings of commands that use only the database."""
    from gondulf.config import Concern

    return load({Concern.DATABASE}, dev=dev)
