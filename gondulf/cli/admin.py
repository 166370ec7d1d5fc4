"""Administration: tokens, domains, resource servers, passkeys, purge, backup and restore."""

from __future__ import annotations

import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from gondulf.cli.output import (
    DevOption,
    JsonOption,
    console,
    error_console,
    fail,
    load_database_settings,
    one_line_failures,
    print_json,
    run,
)
from gondulf.errors import EXIT_CHECK_FAILED, EXIT_USAGE
from gondulf.timestamps import utc_text

if TYPE_CHECKING:
    from gondulf.services.runtime import Services
    from gondulf.storage.records import Passkey, TokenRecord

T = TypeVar("T")
Named = TypeVar("Named")  # a record with an ID

tokens_app = typer.Typer(help="List and revoke access and refresh tokens.", no_args_is_help=True)
domains_app = typer.Typer(
    help="List the domains Gondulf knows and forget one.", no_args_is_help=True
)
resource_servers_app = typer.Typer(
    help="Credentials that let resource servers (Micropub endpoints...) introspect tokens.",
    no_args_is_help=True,
)
passkeys_app = typer.Typer(
    help="List the passkeys people registered and remove one.", no_args_is_help=True
)

MAX_CANDIDATES = 10  # an ambiguous ID prefix lists this many of the tokens it may mean
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


def _with_services(work: Callable[[Services], Awaitable[T]], dev: bool) -> T:
    """Run `work` against the database; these commands need no other setting."""
    from gondulf.services.runtime import open_services

    settings = load_database_settings(dev)

    async def main() -> T:
        async with open_services(settings, migrate=True) as services:
            return await work(services)

    return run(main())


def _confirm(question: str, yes: bool) -> None:
    """Ask on stderr (stdout stays clean for --json); a piped answer counts like a typed one."""
    if yes:
        return
    error_console.print(f"{question} [y/N] ", end="", markup=False)
    try:
        answer = sys.stdin.readline()
    except KeyboardInterrupt:
        error_console.print()
        fail("interrupted; nothing was changed", EXIT_CHECK_FAILED)
    if not sys.stdin.isatty():  # a terminal echoed the answer and its newline; a pipe did not
        error_console.print(answer.strip(), markup=False)
    if not answer:  # end of input: nobody is there to answer
        fail("no answer on standard input; add --yes to confirm without asking", EXIT_USAGE)
    if answer.strip().lower() not in ("y", "yes"):
        fail("declined; nothing was changed", EXIT_CHECK_FAILED)


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
    dev: DevOption = False,
) -> None:
    """List tokens (active ones unless --all)."""
    client_id = _client_filter(client)
    identity = _identity_filter(me)
    records = _with_services(lambda s: _find_tokens(s, identity, client_id, all_tokens), dev)
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
    # The ID is what `tokens revoke` takes: never cut or wrapped; the other columns fold.
    table.add_column("ID", no_wrap=True, min_width=16)
    for column in ("Kind", "Me", "App", "Scope", "Issued", "Last used", "Status"):
        table.add_column(column, overflow="fold")
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
        str | None,
        typer.Argument(
            metavar="ID", help="The token's ID as `gondulf tokens list` shows it, or its start."
        ),
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
    dev: DevOption = False,
) -> None:
    """Revoke one token by ID, or every token of an identity or an app."""
    if sum(x is not None for x in (token_id, me, client)) != 1:
        fail("give exactly one of ID, --me PROFILE_URL or --client CLIENT_ID", EXIT_USAGE)
    client_id = _client_filter(client)
    identity = _identity_filter(me)

    async def work(services: Services) -> tuple[list[TokenRecord], int]:
        if token_id is not None:
            matched = [await _token_by_id_prefix(services, token_id)]
            question = f"Revoke {_describe(matched[0])}?"
        else:
            matched = await _find_tokens(services, identity, client_id, False)
            if not matched:
                which = f"--me {identity}" if identity else f"--client {client_id}"
                fail(f"no active token matches {which}", EXIT_CHECK_FAILED)
            question = f"Revoke {len(matched)} token(s)?"
        _confirm(question, yes)
        return matched, await services.tokens.revoke_ids([r.id for r in matched])

    matched, count = _with_services(work, dev)
    if json_output:
        print_json({"revoked": count, "matched": [r.id for r in matched]})
    elif token_id is not None:
        console.print(
            f"Revoked {count} token(s): {escape(_describe(matched[0]))}"
            + (" and the access tokens of its sign-in." if count > 1 else ".")
            if count
            else f"Nothing to do: {escape(_describe(matched[0]))} is already "
            f"{_token_status(matched[0], time.time())}."
        )
    else:
        console.print(f"Revoked {count} token(s).")


def _describe(record: TokenRecord) -> str:
    return f"{record.kind} token {record.id} of {record.me} for {record.client_id}"


def _one_by_id_prefix(
    typed: str,
    candidates: Sequence[Named],
    what: str,
    list_command: str,
    describe: Callable[[Named], str],
) -> Named:
    """The one record whose ID starts with what was typed (a full ID is its own prefix):
    none is "nothing matched" (1), several a usage error listing them (2)."""
    if not candidates:
        fail(
            f"no {what}'s ID starts with {typed!r} (`{list_command}` shows them all)",
            EXIT_CHECK_FAILED,
        )
    if len(candidates) > 1:
        listed = "; ".join(describe(record) for record in candidates[:MAX_CANDIDATES])
        more = " and more" if len(candidates) > MAX_CANDIDATES else ""
        fail(f"{typed!r} is the start of several IDs, give more of it: {listed}{more}", EXIT_USAGE)
    return candidates[0]


async def _token_by_id_prefix(services: Services, typed: str) -> TokenRecord:
    candidates = await services.tokens.with_id_prefix(typed, limit=MAX_CANDIDATES + 1)
    return _one_by_id_prefix(typed, candidates, "token", "gondulf tokens list --all", _describe)


@domains_app.command("list")
def domains_list(json_output: JsonOption = False, dev: DevOption = False) -> None:
    """List every domain with its last DNS check."""
    from gondulf.storage.records import DomainRecord

    async def work(services: Services) -> list[DomainRecord]:
        return await services.domains.list()

    records = _with_services(work, dev)
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
    dev: DevOption = False,
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

    forgotten, revoked = _with_services(work, dev)
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
    dev: DevOption = False,
) -> None:
    """Create a credential for a resource server; it is shown only this once."""
    from gondulf.storage.records import ResourceServer

    async def work(services: Services) -> tuple[ResourceServer, str]:
        return await services.resource_servers.add(name)

    server, credential = _with_services(work, dev)
    if json_output:
        print_json({"id": server.id, "name": server.name, "credential": credential})
        return
    console.print(
        f"Added {escape(server.name)} ({server.id}). Its credential, shown only this once:"
    )
    console.print(credential, markup=False)
    console.print("Send it as 'Authorization: Bearer CREDENTIAL' to the introspection endpoint.")


@resource_servers_app.command("list")
def resource_servers_list(json_output: JsonOption = False, dev: DevOption = False) -> None:
    """List resource servers (never their credentials)."""
    from gondulf.storage.records import ResourceServer

    async def work(services: Services) -> list[ResourceServer]:
        return await services.resource_servers.list()

    servers = _with_services(work, dev)
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
    dev: DevOption = False,
) -> None:
    """Remove a resource server; its credential stops working at once."""

    async def work(services: Services) -> bool:
        return await services.resource_servers.remove(name)

    if not _with_services(work, dev):
        fail(f"no resource server is named {name!r}", EXIT_CHECK_FAILED)
    if json_output:
        print_json({"removed": name})
    else:
        console.print(f"Removed {escape(name)}.")


@passkeys_app.command("list")
def passkeys_list(
    me: Annotated[
        str | None,
        typer.Option(
            "--me",
            metavar="PROFILE_URL",
            help="Only passkeys of this identity, such as "
            "https://jane.example/ (jane.example for short).",
        ),
    ] = None,
    json_output: JsonOption = False,
    dev: DevOption = False,
) -> None:
    """List passkeys: ID, identity, name, when added and last used."""
    identity = _identity_filter(me)

    async def work(services: Services) -> list[Passkey]:
        return await services.passkeys.list(identity)

    passkeys = _with_services(work, dev)
    if json_output:
        print_json(
            [
                {
                    "id": p.id,
                    "me": p.me,
                    "name": p.name,
                    "transports": list(p.transports),
                    "sign_count": p.sign_count,
                    "created_at": p.created_at,
                    "last_used_at": p.last_used_at,
                }
                for p in passkeys
            ]
        )
        return
    table = Table(title=f"{len(passkeys)} passkey(s)")
    table.add_column("ID", no_wrap=True, min_width=16)  # what `passkeys remove` takes
    for column in ("Me", "Name", "Added", "Last used", "Counter"):
        table.add_column(column, overflow="fold")
    for p in passkeys:
        table.add_row(
            p.id,
            escape(p.me),
            escape(p.name),
            utc_text(p.created_at),
            utc_text(p.last_used_at),
            str(p.sign_count),
        )
    console.print(table)


@passkeys_app.command("remove")
def passkeys_remove(
    passkey_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="The passkey's ID as `gondulf passkeys list` shows it, or its start."
        ),
    ],
    yes: YesOption = False,
    json_output: JsonOption = False,
    dev: DevOption = False,
) -> None:
    """Remove a passkey; it stops working at once (its owner signs in with an emailed code)."""

    async def work(services: Services) -> Passkey:
        passkey = await _passkey_by_id_prefix(services, passkey_id)
        _confirm(f"Remove {_describe_passkey(passkey)}?", yes)
        return await services.passkeys.remove(None, passkey.id)

    removed = _with_services(work, dev)
    if json_output:
        print_json({"removed": removed.id, "me": removed.me, "name": removed.name})
    else:
        console.print(
            f"Removed {escape(_describe_passkey(removed))}; it no longer signs anyone in."
        )


def _describe_passkey(passkey: Passkey) -> str:
    return f"passkey {passkey.id} ({passkey.name!r}) of {passkey.me}"


async def _passkey_by_id_prefix(services: Services, typed: str) -> Passkey:
    candidates = await services.passkeys.with_id_prefix(typed, limit=MAX_CANDIDATES + 1)
    return _one_by_id_prefix(
        typed, candidates, "passkey", "gondulf passkeys list", _describe_passkey
    )


def purge(json_output: JsonOption = False, dev: DevOption = False) -> None:
    """Delete expired codes, sign-in sessions, passkey challenges, tokens and counters now."""
    from gondulf.services.housekeeping import purge as purge_database

    async def work(services: Services) -> dict[str, int]:
        return await purge_database(services.store)

    removed = _with_services(work, dev)
    if json_output:
        print_json(removed)
    else:
        console.print("Purged " + ", ".join(f"{n} {kind}" for kind, n in removed.items()) + ".")


def backup(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The new file to write the copy to.")
    ],
    json_output: JsonOption = False,
    dev: DevOption = False,
) -> None:
    """Copy the live database consistently, even while the server runs, and verify the copy."""
    from gondulf.storage.sqlite.backup import backup as backup_database

    settings = load_database_settings(dev)
    path = path.absolute()  # every message names the real place
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
    dev: DevOption = False,
) -> None:
    """Replace the database with a backup. Stop every server first; the old one is kept."""
    from gondulf.storage.sqlite.backup import check_backup
    from gondulf.storage.sqlite.backup import restore as restore_database

    settings = load_database_settings(dev)
    database, path = settings.database_path, path.absolute()
    with one_line_failures():
        check_backup(path)
        _confirm(f"Replace {database} with {path}?", yes)
        restored = restore_database(path, database)
    if json_output:
        print_json(
            {"restored": str(path), "previous": str(restored.kept) if restored.kept else None}
            | {k: v for k, v in restored.__dict__.items() if k != "kept"}
        )
        return
    console.print(f"Restored {database} from {path}.", markup=False)
    if restored.kept is None:
        console.print(
            "There was no database to replace, so nothing said which tokens were revoked "
            "after the backup was taken: any such token works again. `gondulf tokens list` "
            "shows the live ones; `gondulf tokens revoke` ends one.",
            markup=False,
        )
        return
    console.print(
        f"The replaced database is kept as {restored.kept}. From it, "
        f"{restored.tokens_revoked_again} token(s) revoked, used or gone since the backup "
        "were revoked again and "
        f"{restored.servers_removed_again} resource server(s) removed since were removed again.",
        markup=False,
    )
    if restored.tokens_lost or restored.servers_lost:
        console.print(
            f"Not in the backup: {restored.tokens_lost} live token(s) issued since (those people "
            f"sign in again) and {restored.servers_lost} resource server(s) added since "
            "(add them again with `gondulf resource-servers add`).",
            markup=False,
        )
    if restored.passkeys_removed_again:
        console.print(
            f"{restored.passkeys_removed_again} passkey(s) removed since the backup were "
            "removed again.",
            markup=False,
        )
    if restored.passkeys_lost:
        console.print(
            f"Not in the backup: {restored.passkeys_lost} passkey(s) registered since (those "
            "people sign in with an emailed code and add them again).",
            markup=False,
        )
