"""`gondulf`: run the server and administer it.

Each command builds the same services the server uses (gondulf.services) and
only formats what they return. Heavy modules are imported inside commands
so that `gondulf --help` stays quick.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from typer._click.exceptions import NoArgsIsHelpError  # Typer's own copy of Click

from gondulf import __version__
from gondulf.cli import admin, checks, demo, init, serve
from gondulf.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE

EXIT_CODES_HELP = (
    "Exit codes: 0 success; 1 a check found a problem or nothing matched; 2 wrong arguments; "
    "3 invalid configuration; 4 a service (database, DNS, SMTP, web) failed."
)

app = typer.Typer(
    name="gondulf",
    help="Gondulf, a self-hosted IndieAuth server: people sign in to IndieWeb apps with "
    "their own domain, proven by a DNS record and a code emailed to them.\n\n"
    "Settings come from GONDULF_* environment variables and a .env file in the "
    "working directory.",
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"gondulf {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Gondulf, a self-hosted IndieAuth server."""


def _summary(doc: str | None) -> str:
    """A docstring's first line: the command's whole summary in lists, never cut short."""
    return (doc or "").strip().splitlines()[0].rstrip(".") if doc else ""


def _add(group: typer.Typer, name: str, command: Callable[..., None]) -> None:
    group.command(name, short_help=_summary(command.__doc__), epilog=EXIT_CODES_HELP)(command)


for _name, _command in (
    ("serve", serve.serve),
    ("demo", demo.demo),
    ("init", init.init),
    ("check-config", checks.check_config),
    ("migrate", checks.migrate),
    ("verify-dns", checks.verify_dns),
    ("send-test-email", checks.send_test_email),
    ("inspect-domain", checks.inspect_domain),
    ("purge", admin.purge),
    ("backup", admin.backup),
    ("restore", admin.restore),
):
    _add(app, _name, _command)
for _name, _group in (
    ("tokens", admin.tokens_app),
    ("domains", admin.domains_app),
    ("resource-servers", admin.resource_servers_app),
    ("passkeys", admin.passkeys_app),
):
    for _registered in _group.registered_commands:
        _registered.short_help = _summary(
            _registered.callback.__doc__ if _registered.callback else None
        )
    _help = _group.info.help if isinstance(_group.info.help, str) else None
    app.add_typer(_group, name=_name, short_help=_summary(_help), epilog=EXIT_CODES_HELP)


def main() -> None:
    """The `gondulf` command: a wrong command line is one line and exit 2, like any failure."""
    try:
        code = app(prog_name="gondulf", standalone_mode=False)
    except typer.Abort:  # Ctrl-C or end of input at a prompt
        sys.stderr.write("gondulf: error: aborted; nothing was changed\n")
        sys.exit(EXIT_CHECK_FAILED)
    except NoArgsIsHelpError as exc:  # `gondulf` or `gondulf tokens` alone: the help
        sys.stdout.write(exc.format_message() + "\n")
        sys.exit(EXIT_OK)
    except typer.TyperException as exc:  # usage: unknown command, missing argument...
        sys.stderr.write(f"gondulf: error: {usage_message(exc)}\n")
        sys.exit(int(getattr(exc, "exit_code", EXIT_USAGE)))
    sys.exit(code if isinstance(code, int) else EXIT_OK)


def usage_message(exc: typer.TyperException) -> str:
    """Click's message made one line, with where to read more."""
    message = " ".join(str(exc.format_message() if hasattr(exc, "format_message") else exc).split())
    message = message[0].lower() + message[1:] if message else "wrong arguments"
    context = getattr(exc, "ctx", None)
    if context is not None and getattr(context, "command_path", None):
        message = message.rstrip(".") + f" (see `{context.command_path} --help`)"
    return message


def command_summaries() -> dict[str, str]:
    """Every command and subcommand as typed ("tokens list") with its one-line summary."""
    found: dict[str, str] = {}
    summary = _summary
    for command in app.registered_commands:
        assert command.name and command.callback
        found[command.name] = summary(command.callback.__doc__)
    for group in app.registered_groups:
        assert group.name and group.typer_instance
        found[group.name] = summary(group.typer_instance.info.help)
        for command in group.typer_instance.registered_commands:
            assert command.name and command.callback
            found[f"{group.name} {command.name}"] = summary(command.callback.__doc__)
    return found
