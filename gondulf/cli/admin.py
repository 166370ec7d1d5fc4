"""Administration: tokens, domains, resource servers, purge, backup and restore."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from gondulf.cli.checks import JsonOption
from gondulf.cli.output import console, fail, load, one_line_failures, print_json, run
from gondulf.errors import EXIT_CHECK_FAILED, EXIT_USAGE
from gondulf.timestamps import utc_text

if TYPE_CHECKING:
    from gondulf.services.runtime import Services
    from gondulf.storage.records import TokenRecord

T = TypeVar("T")

tokens_app = typer.Typer(help="List and revoke access and refresh tokens.", no_args_is_help=True)
domains_app = typer.Typer(
    help="List the domains Gondulf knows and forget one.", no_args_is_help=True
)
resource_servers_app = typer.Typer(
    help="Credentials that let resource servers (Micropub endpoints...) introspect tokens.",
    no_args_is_help=True,
)

YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _with_services(work: Callable[[Services], Awaitable[T]]) -> T:
    from gondulf.services.runtime import open_services

    settings = load()

    async def main() -> T:
        async with open_services(settings, migrate=True) as services:
            return await work(services)

    return run(main())


def _confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail("not at a terminal: add --yes to confirm", EXIT_USAGE)
    if not typer.confirm(question):
        raise typer.Exit(EXIT_CHECK_FAILED)


def _token_status(record: TokenRecord, now: float) -> str:
    if record.revoked_at is not None:
        return "revoked"
    if record.rotated_at is not None:
        return "rotated"
    return "active" if record.active(now) else "expired"


def _domain_argument(text: str) -> str:
    """`Example.com.`, `https://example.com/` → `example.com`."""
    from gondulf.services.inspection import parse_target

    with one_line_failures():
        return parse_target(text, debug=True)[0]


def _client_filter(client: str | None) -> str | None:
    from gondulf.indieauth.urls import InvalidURL, canonical_client_id

    if client is None:
        return None
    try:
        return canonical_client_id(client)
    except InvalidURL as exc:
        fail(f"--client: {exc.description}", EXIT_USAGE)


def _identity_filter(me: str | None) -> str | None:
    """`--me`: one exact identity, `jane.example` meaning `https://jane.example/`.

    Never a whole domain: `https://shared.example/~bob/` is not `https://shared.example/`.
    """
    from gondulf.indieauth.urls import InvalidURL, canonical_profile_url

    if me is None:
        return None
    try:
        return canonical_profile_url(me, debug=True)
    except InvalidURL as exc:
        fail(f"--me: {exc.description}", EXIT_USAGE)


async def _find_tokens(
    services: Services, me: str | None, client: str | None, include_inactive: bool
) -> list[TokenRecord]:
    return await services.tokens.find(me=me, client_id=client, include_inactive=include_inactive)


@tokens_app.command("list")
def tokens_list(
    me: Annotated[
        str | None,
        typer.Option(
            "--me",
            metavar="PROFILE_URL",
            help="Only tokens of this identity, such as "
            "https://jane.example/ (jane.example for short).",
        ),
    ] = None,
    client: Annotated[
        str | None, typer.Option("--client", metavar="CLIENT_ID", help="Only tokens of this app.")
    ] = None,
    all_tokens: Annotated[
        bool, typer.Option("--all", help="Include expired, rotated and revoked tokens.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List tokens (active ones unless --all)."""
    import time

    client_id = _client_filter(client)
    identity = _identity_filter(me)
    records = _with_services(lambda s: _find_tokens(s, identity, client_id, all_tokens))
    now = time.time()
    if json_output:
        print_json(
            [
                {
                    "id": r.id,
                    "kind": r.kind,
                    "me": r.me,
                    "client_id": r.client_id,
                    "scope": " ".join(r.scope),
                    "created_at": r.created_at,
                    "expires_at": r.expires_at,
                    "last_used_at": r.last_used_at,
                    "status": _token_status(r, now),
                }
                for r in records
            ]
        )
        return
    table = Table(title=f"{len(records)} token(s)")
    for column in ("ID", "Kind", "Me", "App", "Scope", "Issued", "Last used", "Status"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.id,
            r.kind,
            escape(r.me),
            escape(r.client_id),
            escape(" ".join(r.scope)),
            utc_text(r.created_at),
            utc_text(r.last_used_at),
            _token_status(r, now),
        )
    console.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="The token's ID (gondulf tokens list).")
    ] = None,
    me: Annotated[
        str | None,
        typer.Option("--me", metavar="PROFILE_URL", help="Every token of this identity."),
    ] = None,
    client: Annotated[
        str | None, typer.Option("--client", metavar="CLIENT_ID", help="Every token of this app.")
    ] = None,
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Revoke one token by ID, or every token of an identity or an app."""
    if sum(x is not None for x in (token_id, me, client)) != 1:
        fail("give exactly one of ID, --me PROFILE_URL or --client CLIENT_ID", EXIT_USAGE)
    client_id = _client_filter(client)
    identity = _identity_filter(me)

    async def work(services: Services) -> int:
        if token_id is not None:
            ids = [token_id]
            if await services.tokens.get(token_id) is None:
                fail(f"no token has the ID {token_id!r}", EXIT_USAGE)
        else:
            ids = [r.id for r in await _find_tokens(services, identity, client_id, False)]
        if not ids:
            return 0
        _confirm(f"Revoke {len(ids)} token(s)?", yes)
        return await services.tokens.revoke_ids(ids)

    count = _with_services(work)
    if json_output:
        print_json({"revoked": count})
    else:
        console.print(f"Revoked {count} token(s).")


@domains_app.command("list")
def domains_list(json_output: JsonOption = False) -> None:
    """List every domain with its last DNS check."""
    from gondulf.storage.records import DomainRecord

    async def work(services: Services) -> list[DomainRecord]:
        return await services.domains.list()

    records = _with_services(work)
    if json_output:
        print_json([record.__dict__ for record in records])
        return
    table = Table(title=f"{len(records)} domain(s)")
    for column in ("Domain", "Known since", "Last checked", "Last verified", "Result"):
        table.add_column(column)
    for r in records:
        table.add_row(
            r.domain,
            utc_text(r.created_at),
            utc_text(r.last_checked_at),
            utc_text(r.last_verified_at),
            escape(r.last_check_result or "-"),
        )
    console.print(table)


@domains_app.command("forget")
def domains_forget(
    domain: Annotated[
        str, typer.Argument(metavar="DOMAIN", help="The domain, such as example.com.")
    ],
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Drop a domain's remembered DNS check and revoke all its tokens."""
    name = _domain_argument(domain)

    async def work(services: Services) -> tuple[bool, int]:
        record = await services.domains.get(name)
        tokens = [r.id for r in await services.tokens.find(host=name)]
        if record is None and not tokens:
            fail(f"Gondulf knows nothing about {name}", EXIT_CHECK_FAILED)
        _confirm(f"Forget {name} and revoke its {len(tokens)} token(s)?", yes)
        await services.domains.forget(name)
        return record is not None, await services.tokens.revoke_ids(tokens)

    forgotten, revoked = _with_services(work)
    if json_output:
        print_json({"domain": name, "forgotten": forgotten, "revoked": revoked})
    else:
        console.print(
            f"Forgot {name}; revoked {revoked} token(s). Its next sign-in checks DNS again."
        )


@resource_servers_app.command("add")
def resource_servers_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="A name for the resource server.")],
    json_output: JsonOption = False,
) -> None:
    """Create a credential for a resource server; it is shown only this once."""
    from gondulf.storage.records import ResourceServer

    async def work(services: Services) -> tuple[ResourceServer, str]:
        return await services.resource_servers.add(name)

    server, credential = _with_services(work)
    if json_output:
        print_json({"id": server.id, "name": server.name, "credential": credential})
        return
    console.print(
        f"Added {escape(server.name)} ({server.id}). Its credential, shown only this once:"
    )
    console.print(credential, markup=False)
    console.print("Send it as 'Authorization: Bearer CREDENTIAL' to the introspection endpoint.")


@resource_servers_app.command("list")
def resource_servers_list(json_output: JsonOption = False) -> None:
    """List resource servers (never their credentials)."""
    from gondulf.storage.records import ResourceServer

    async def work(services: Services) -> list[ResourceServer]:
        return await services.resource_servers.list()

    servers = _with_services(work)
    if json_output:
        print_json([server.__dict__ for server in servers])
        return
    table = Table(title=f"{len(servers)} resource server(s)")
    for column in ("ID", "Name", "Created", "Last used"):
        table.add_column(column)
    for s in servers:
        table.add_row(s.id, escape(s.name), utc_text(s.created_at), utc_text(s.last_used_at))
    console.print(table)


@resource_servers_app.command("remove")
def resource_servers_remove(
    name: Annotated[str, typer.Argument(metavar="NAME_OR_ID", help="Which resource server.")],
    json_output: JsonOption = False,
) -> None:
    """Remove a resource server; its credential stops working at once."""

    async def work(services: Services) -> bool:
        return await services.resource_servers.remove(name)

    if not _with_services(work):
        fail(f"no resource server is named {name!r}", EXIT_CHECK_FAILED)
    if json_output:
        print_json({"removed": name})
    else:
        console.print(f"Removed {escape(name)}.")


def purge(json_output: JsonOption = False) -> None:
    """Delete expired codes, sign-in sessions, tokens and counters now."""
    from gondulf.services.housekeeping import purge as purge_database

    async def work(services: Services) -> dict[str, int]:
        return await purge_database(services.store)

    removed = _with_services(work)
    if json_output:
        print_json(removed)
    else:
        console.print("Purged " + ", ".join(f"{n} {kind}" for kind, n in removed.items()) + ".")


def backup(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The new file to write the copy to.")
    ],
    json_output: JsonOption = False,
) -> None:
    """Copy the live database consistently, even while the server runs, and verify the copy."""
    from gondulf.storage.sqlite.backup import backup as backup_database

    settings = load()
    with one_line_failures():
        size = backup_database(settings.database_path, path)
    if json_output:
        print_json({"backup": str(path), "bytes": size, "integrity": "ok"})
    else:
        console.print(f"Wrote {path} ({size} bytes); integrity check: ok.")


def restore(
    path: Annotated[Path, typer.Argument(metavar="PATH", help="A file written by gondulf backup.")],
    yes: YesOption = False,
    json_output: JsonOption = False,
) -> None:
    """Replace the database with a backup. Stop every server first; the old one is kept."""
    from gondulf.storage.sqlite.backup import check_backup
    from gondulf.storage.sqlite.backup import restore as restore_database

    settings = load()
    with one_line_failures():
        check_backup(path)
        _confirm(f"Replace {settings.database_path} with {path}?", yes)
        kept = restore_database(path, settings.database_path)
    if json_output:
        print_json({"restored": str(path), "previous": str(kept) if kept else None})
    else:
        console.print(
            f"Restored {settings.database_path} from {path}."
            + (f" The previous database is kept as {kept}." if kept else "")
        )
