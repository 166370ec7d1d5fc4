"""Administration commands against a real database, through the `gondulf` console script."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import stat
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from conftest import GONDULF, CliResult

from gondulf.config import load_settings
from gondulf.services.bookkeeping import Bookkeeping
from gondulf.services.domains import DomainService
from gondulf.services.housekeeping import purge, purge_forever
from gondulf.services.metrics import Metrics
from gondulf.services.outside.dns import (
    DnsService,
    DomainProof,
    LookupStatus,
    TxtResult,
    build_resolver,
)
from gondulf.services.tokens.issuing import IssuedTokens, TokenService
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.migrations import apply_migrations
from gondulf.storage.sqlite.store import SQLiteStore
from gondulf.web.app import create_app

Cli = Callable[..., Awaitable[CliResult]]


async def open_db(env: dict[str, str]) -> Database:
    db = await Database.open(load_settings(env, env_file=None).database_path)
    await apply_migrations(db)
    return db


async def issue(
    db: Database,
    me: str = "https://jane.test/",
    client_id: str = "https://app.test/",
    family: str = "f1",
    refresh: bool = True,
) -> IssuedTokens:
    return await TokenService(SQLiteStore(db), Bookkeeping(), Metrics()).issue(
        me=me,
        client_id=client_id,
        scope=("create",),
        profile=None,
        family_id=family,
        access_lifetime=3600,
        refresh_lifetime=86400 if refresh else None,
    )


@pytest.fixture
async def migrated(env: dict[str, str]) -> dict[str, str]:
    """The environment of a database that `gondulf migrate` has created."""
    await (await open_db(env)).close()
    return env


@pytest.fixture
async def seeded(env: dict[str, str]) -> dict[str, IssuedTokens]:
    db = await open_db(env)
    try:
        return {
            "jane": await issue(db, family="f-jane"),
            "jane-other-app": await issue(db, client_id="https://other.test/", family="f-j2"),
            "bob": await issue(db, me="https://bob.test/", family="f-bob", refresh=False),
        }
    finally:
        await db.close()


async def live(env: dict[str, str], token: str) -> bool:
    db = await open_db(env)
    try:
        return (
            await TokenService(SQLiteStore(db), Bookkeeping(), Metrics()).verify(token) is not None
        )
    finally:
        await db.close()


# -- tokens ------------------------------------------------------------------------------------


async def test_tokens_list_filters(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    everything = json.loads((await cli("tokens", "list", "--json", env=env)).stdout)
    assert len(everything) == 5  # three access tokens, two refresh tokens
    jane = json.loads((await cli("tokens", "list", "--me", "jane.test", "--json", env=env)).stdout)
    assert {t["me"] for t in jane} == {"https://jane.test/"} and len(jane) == 4
    app = json.loads(
        (await cli("tokens", "list", "--client", "https://app.test", "--json", env=env)).stdout
    )
    assert {t["client_id"] for t in app} == {"https://app.test/"}
    table = await cli("tokens", "list", env=env)
    assert table.code == 0 and "5 token(s)" in table.stdout and "active" in table.stdout


async def test_me_matches_one_exact_identity_not_its_host(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    db = await open_db(env)
    try:
        bob = await issue(db, me="https://jane.test/~bob/", family="f-shared-bob")
    finally:
        await db.close()
    jane = json.loads((await cli("tokens", "list", "--me", "JANE.test.", "--json", env=env)).stdout)
    assert {t["me"] for t in jane} == {"https://jane.test/"}
    shared = json.loads(
        (await cli("tokens", "list", "--me", "https://jane.test/~bob/", "--json", env=env)).stdout
    )
    assert {t["me"] for t in shared} == {"https://jane.test/~bob/"} and len(shared) == 2
    result = await cli("tokens", "revoke", "--me", "jane.test", "--yes", "--json", env=env)
    assert json.loads(result.stdout)["revoked"] == 4
    assert await live(env, bob.access_token)


async def test_tokens_revoke_by_id_takes_a_refresh_tokens_family(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    tokens = json.loads(
        (
            await cli(
                "tokens",
                "list",
                "--me",
                "jane.test",
                "--client",
                "https://app.test/",
                "--json",
                env=env,
            )
        ).stdout
    )
    refresh = next(t for t in tokens if t["kind"] == "refresh")
    result = await cli("tokens", "revoke", refresh["id"], "--yes", env=env)
    assert result.code == 0 and "Revoked 2 token(s)" in result.stdout
    assert not await live(env, seeded["jane"].access_token)
    assert await live(env, seeded["jane-other-app"].access_token)
    listed = json.loads((await cli("tokens", "list", "--all", "--json", env=env)).stdout)
    assert sum(t["status"] == "revoked" for t in listed) == 2


async def test_tokens_revoke_by_domain(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    result = await cli("tokens", "revoke", "--me", "jane.test", "--yes", "--json", env=env)
    assert json.loads(result.stdout)["revoked"] == 4
    assert await live(env, seeded["bob"].access_token)


async def test_tokens_revoke_without_an_answer_asks_for_yes(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    result = await cli("tokens", "revoke", "--client", "https://app.test/", env=env)  # /dev/null
    assert result.code == 2
    assert "no answer on standard input; add --yes" in result.stderr
    assert await live(env, seeded["jane"].access_token)


@pytest.mark.parametrize("answer", ["n\n", "no\n", "\n", "maybe\n"])
async def test_a_piped_no_declines_like_a_typed_one(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens], answer: str
) -> None:
    result = await cli("tokens", "revoke", "--client", "https://app.test/", env=env, input=answer)
    assert result.code == 1
    assert "Revoke 3 token(s)? [y/N]" in result.stderr  # asked on stderr: stdout stays clean
    assert "declined; nothing was changed" in result.stderr and result.stdout == ""
    assert await live(env, seeded["jane"].access_token)


async def test_a_piped_yes_confirms(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    result = await cli(
        "tokens", "revoke", "--client", "https://app.test/", "--json", env=env, input="y\n"
    )
    assert result.code == 0 and json.loads(result.stdout)["revoked"] == 3
    assert not await live(env, seeded["jane"].access_token)


@pytest.mark.parametrize("args", [[], ["some-id", "--me", "jane.test"], ["--client", "nope"]])
async def test_tokens_revoke_argument_errors(
    cli: Cli, env: dict[str, str], args: list[str]
) -> None:
    result = await cli("tokens", "revoke", *args, "--yes", env=env)
    assert result.code == 2
    assert result.stderr.startswith("gondulf: error: ") and "Traceback" not in result.stderr


async def test_an_unknown_token_id_is_nothing_matched(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    result = await cli("tokens", "revoke", "ffffffffffffffffff", "--yes", env=env)
    assert result.code == 1 and "no token's ID starts with 'ffffffffffffffffff'" in result.stderr


async def test_revoking_for_an_identity_without_tokens_is_nothing_matched(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    result = await cli("tokens", "revoke", "--me", "nobody.test", "--yes", env=env)
    assert result.code == 1 and "no active token matches --me https://nobody.test/" in result.stderr


async def rename_token(env: dict[str, str], old: str, new: str) -> None:
    db = await open_db(env)
    try:
        await db.execute("UPDATE tokens SET id = ? WHERE id = ?", (new, old))
    finally:
        await db.close()


async def test_tokens_revoke_takes_a_unique_start_of_the_id(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    await rename_token(env, seeded["bob"].access.id, "abc0000000000001")
    result = await cli("tokens", "revoke", "ABC0", "--yes", env=env)
    assert result.code == 0, result.stderr
    assert "access token abc0000000000001 of https://bob.test/" in result.stdout
    assert not await live(env, seeded["bob"].access_token)
    assert await live(env, seeded["jane"].access_token)


async def test_an_ambiguous_start_of_an_id_lists_the_candidates(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    await rename_token(env, seeded["bob"].access.id, "abc0000000000001")
    await rename_token(env, seeded["jane-other-app"].access.id, "abc0000000000002")
    result = await cli("tokens", "revoke", "abc", "--yes", env=env)
    assert result.code == 2
    assert "'abc' is the start of several IDs, give more of it" in result.stderr
    assert "abc0000000000001 of https://bob.test/" in result.stderr
    assert "abc0000000000002 of https://jane.test/" in result.stderr
    assert await live(env, seeded["bob"].access_token)
    assert await live(env, seeded["jane-other-app"].access_token)


async def test_tokens_list_never_cuts_an_id_on_a_narrow_terminal(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    await rename_token(env, seeded["bob"].access.id, "abc0000000000001")
    result = await cli("tokens", "list", env={**env, "COLUMNS": "60"})
    assert result.code == 0
    assert "abc0000000000001" in result.stdout  # whole, on one line
    assert all(len(line) <= 60 for line in result.stdout.splitlines())


# -- domains -----------------------------------------------------------------------------------


async def test_domains_list_and_forget(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens]
) -> None:
    db = await open_db(env)
    proof = DomainProof(
        "jane.test", TxtResult("_gondulf.jane.test", LookupStatus.FOUND, ("gondulf-verify-domain",))
    )
    await DomainService(SQLiteStore(db).domains, DnsService(build_resolver(()))).record_check(proof)
    await db.close()
    listed = json.loads((await cli("domains", "list", "--json", env=env)).stdout)
    assert [d["domain"] for d in listed] == ["jane.test"]
    assert "jane.test" in (await cli("domains", "list", env=env)).stdout
    result = await cli("domains", "forget", "jane.test", "--yes", "--json", env=env)
    assert json.loads(result.stdout) == {"domain": "jane.test", "forgotten": True, "revoked": 4}
    assert json.loads((await cli("domains", "list", "--json", env=env)).stdout) == []
    assert not await live(env, seeded["jane"].access_token)
    assert await live(env, seeded["bob"].access_token)


async def test_forgetting_an_unknown_domain(cli: Cli, migrated: dict[str, str]) -> None:
    result = await cli("domains", "forget", "nobody.test", "--yes", env=migrated)
    assert result.code == 1 and "knows nothing about nobody.test" in result.stderr


# -- resource servers --------------------------------------------------------------------------


async def test_resource_servers_add_list_remove(cli: Cli, migrated: dict[str, str]) -> None:
    added = json.loads(
        (await cli("resource-servers", "add", "micropub", "--json", env=migrated)).stdout
    )
    assert added["name"] == "micropub" and added["credential"].startswith("grs_")
    listed = await cli("resource-servers", "list", "--json", env=migrated)
    assert [s["name"] for s in json.loads(listed.stdout)] == ["micropub"]
    assert added["credential"] not in listed.stdout
    duplicate = await cli("resource-servers", "add", "micropub", env=migrated)
    assert duplicate.code == 2 and "already exists" in duplicate.stderr
    assert (await cli("resource-servers", "remove", "micropub", env=migrated)).code == 0
    gone = await cli("resource-servers", "remove", "micropub", env=migrated)
    assert gone.code == 1 and "no resource server" in gone.stderr


async def test_resource_server_credential_is_shown_once_in_the_report(
    cli: Cli, migrated: dict[str, str]
) -> None:
    result = await cli("resource-servers", "add", "reader", env=migrated)
    assert result.code == 0 and "shown only this once" in result.stdout
    assert "grs_" in result.stdout


# -- purge -------------------------------------------------------------------------------------


async def test_purge_removes_only_what_has_expired(db: Database) -> None:
    store = TokenService(SQLiteStore(db), Bookkeeping(), Metrics())
    now = 2_000_000_000
    await store.issue(
        me="https://jane.test/",
        client_id="https://app.test/",
        scope=("x",),
        profile=None,
        family_id="old",
        access_lifetime=10,
        refresh_lifetime=None,
        now=now - 3 * 86400,
    )
    fresh = await store.issue(
        me="https://jane.test/",
        client_id="https://app.test/",
        scope=("x",),
        profile=None,
        family_id="new",
        access_lifetime=3600,
        refresh_lifetime=None,
        now=now,
    )
    await db.execute("INSERT INTO rate_limits VALUES ('codes-sent:a', ?, 1)", (now - 2 * 86400,))
    await db.execute("INSERT INTO rate_limits VALUES ('codes-sent:a', ?, 1)", (now - 60,))
    removed = await purge(SQLiteStore(db), now=now)
    assert removed["tokens"] == 1 and removed["rate-limit counters"] == 1
    assert await store.verify(fresh.access_token, now=now) is not None


async def test_recently_revoked_tokens_are_kept_a_day(db: Database) -> None:
    store = TokenService(SQLiteStore(db), Bookkeeping(), Metrics())
    now = 2_000_000_000
    await store.issue(
        me="https://jane.test/",
        client_id="https://app.test/",
        scope=("x",),
        profile=None,
        family_id="f",
        access_lifetime=3600,
        refresh_lifetime=None,
        now=now,
    )
    await store.revoke_family("f", now=now)
    assert (await purge(SQLiteStore(db), now=now + 3600))["tokens"] == 0
    assert (await purge(SQLiteStore(db), now=now + 2 * 86400))["tokens"] == 1


async def test_background_purge_runs_on_its_interval(db: Database) -> None:
    await db.execute("INSERT INTO rate_limits VALUES ('x', 1, 1)")
    task = asyncio.create_task(purge_forever(SQLiteStore(db), 0.05))
    await asyncio.sleep(0.3)
    task.cancel()
    assert await db.fetchall("SELECT * FROM rate_limits") == []


async def test_purge_command(cli: Cli, migrated: dict[str, str]) -> None:
    result = await cli("purge", "--json", env=migrated)
    assert result.code == 0 and json.loads(result.stdout)["tokens"] == 0


# -- backup and restore ------------------------------------------------------------------------


async def test_backup_while_a_writer_is_busy(cli: Cli, env: dict[str, str], tmp_path: Path) -> None:
    db = await open_db(env)
    stop = asyncio.Event()
    written = 0

    async def writer() -> None:
        nonlocal written
        while not stop.is_set():
            await db.execute("INSERT INTO rate_limits VALUES (?, 0, 1)", (f"w{written}",))
            written += 1

    task = asyncio.create_task(writer())
    try:
        await asyncio.sleep(0.2)
        result = await cli("backup", str(tmp_path / "copy.db"), "--json", env=env)
    finally:
        stop.set()
        await task
        await db.close()
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["integrity"] == "ok"
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        copied = copy.execute("SELECT count(*) FROM rate_limits").fetchone()[0]
    assert 0 < copied <= written


async def test_backup_refuses_to_overwrite(cli: Cli, env: dict[str, str], tmp_path: Path) -> None:
    await (await open_db(env)).close()
    (tmp_path / "exists.db").write_text("precious")
    result = await cli("backup", str(tmp_path / "exists.db"), env=env)
    assert result.code == 2 and "already exists" in result.stderr
    assert (tmp_path / "exists.db").read_text() == "precious"


async def test_backup_names_the_absolute_path_it_wrote(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    await (await open_db(env)).close()
    result = await cli("backup", "copy.db", env=env)  # relative to where it runs
    assert result.code == 0
    assert f"Wrote {tmp_path / 'copy.db'} (" in result.stdout


async def test_restore_refuses_while_a_server_holds_the_database(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    await (await open_db(env)).close()
    assert (await cli("backup", str(tmp_path / "copy.db"), env=env)).code == 0
    server = TestServer(create_app(load_settings(env, env_file=None)))
    await server.start_server()
    try:
        result = await cli("restore", str(tmp_path / "copy.db"), "--yes", env=env)
    finally:
        await server.close()
    assert result.code == 4 and "stop it first" in result.stderr


async def test_restore_brings_back_the_backup_and_keeps_the_old_database(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    db = await open_db(env)
    await db.execute("INSERT INTO rate_limits VALUES ('before', 0, 1)")
    await db.close()
    await cli("backup", str(tmp_path / "copy.db"), env=env)
    db = await open_db(env)
    await db.execute("INSERT INTO rate_limits VALUES ('after', 0, 1)")
    await db.close()
    result = await cli("restore", str(tmp_path / "copy.db"), "--yes", "--json", env=env)
    assert result.code == 0, result.stderr
    kept = Path(json.loads(result.stdout)["previous"])
    db = await open_db(env)
    rows = await db.fetchall("SELECT bucket FROM rate_limits")
    await db.close()
    assert [r["bucket"] for r in rows] == ["before"]
    with sqlite3.connect(kept) as old:
        assert {r[0] for r in old.execute("SELECT bucket FROM rate_limits")} == {"before", "after"}


async def test_restore_keeps_dead_what_died_after_the_backup(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens], tmp_path: Path
) -> None:
    """A token revoked, a refresh token used, a token purged, a resource server removed
    since the backup: none of them works again once it is restored."""
    for name in ("micropub", "reader"):
        assert (await cli("resource-servers", "add", name, env=env)).code == 0
    assert (await cli("backup", str(tmp_path / "copy.db"), env=env)).code == 0

    assert (await cli("tokens", "revoke", seeded["bob"].access.id, "--yes", env=env)).code == 0
    db = await open_db(env)
    try:
        tokens = TokenService(SQLiteStore(db), Bookkeeping(), Metrics())
        jane_refresh = seeded["jane"].refresh_token
        assert jane_refresh is not None
        rotated = await tokens.refresh(
            jane_refresh, "https://app.test/", None, access_lifetime=3600, refresh_lifetime=86400
        )
        await db.execute("DELETE FROM tokens WHERE id = ?", (seeded["jane-other-app"].access.id,))
        await issue(db, me="https://carol.test/", family="f-carol", refresh=False)
    finally:
        await db.close()
    assert (await cli("resource-servers", "remove", "reader", env=env)).code == 0
    assert (await cli("resource-servers", "add", "added-since", env=env)).code == 0

    result = await cli("restore", str(tmp_path / "copy.db"), "--yes", "--json", env=env)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert re.fullmatch(
        r".*/gondulf\.db\.before-restore-\d{4}-\d\d-\d\dT\d{6}Z", report["previous"]
    )
    assert report["tokens_revoked_again"] == 3  # bob's, jane's used refresh token, the purged
    assert report["servers_removed_again"] == 1
    assert report["tokens_lost"] == 3  # carol's and the pair the refresh gave
    assert report["servers_lost"] == 1

    assert not await live(env, seeded["bob"].access_token)
    assert not await live(env, seeded["jane-other-app"].access_token)
    assert not await live(env, jane_refresh)
    assert not await live(env, rotated.access_token)  # not in the backup
    assert await live(env, seeded["jane"].access_token)  # untouched since: still works
    servers = json.loads((await cli("resource-servers", "list", "--json", env=env)).stdout)
    assert [s["name"] for s in servers] == ["micropub"]


async def test_restore_says_what_it_re_revoked_and_what_is_gone(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens], tmp_path: Path
) -> None:
    assert (await cli("backup", str(tmp_path / "copy.db"), env=env)).code == 0
    assert (await cli("tokens", "revoke", seeded["bob"].access.id, "--yes", env=env)).code == 0
    result = await cli("restore", str(tmp_path / "copy.db"), "--yes", env=env)
    assert result.code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "1 token(s) revoked, used or gone since the backup were revoked again" in text
    assert "The replaced database is kept as " in text


async def test_restore_where_there_was_no_database_warns_about_revocations(
    cli: Cli, env: dict[str, str], seeded: dict[str, IssuedTokens], tmp_path: Path
) -> None:
    assert (await cli("backup", str(tmp_path / "copy.db"), env=env)).code == 0
    elsewhere = {**env, "GONDULF_DATABASE_URL": f"sqlite:///{tmp_path / 'new' / 'gondulf.db'}"}
    (tmp_path / "new").mkdir()
    result = await cli("restore", str(tmp_path / "copy.db"), "--yes", env=elsewhere)
    assert result.code == 0, result.stderr
    assert "any such token works again" in " ".join(result.stdout.split())


async def test_restore_refuses_a_file_that_is_not_a_backup(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "junk.db").write_bytes(b"junk" * 100)
    result = await cli("restore", str(tmp_path / "junk.db"), "--yes", env=env)
    assert result.code == 2 and "not a Gondulf database backup" in result.stderr


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        (
            "CREATE TRIGGER leak AFTER INSERT ON tokens BEGIN "
            "INSERT INTO rate_limits VALUES (new.token_hash, 0, 1); END",
            "unexpected trigger leak",
        ),
        ("CREATE VIEW everything AS SELECT * FROM tokens", "unexpected view everything"),
        ("CREATE TABLE extra (x)", "unexpected table extra"),
        ("DROP INDEX tokens_me", "missing index tokens_me"),
        ("ALTER TABLE tokens ADD COLUMN plain_token TEXT", "table tokens differs"),
        ("INSERT INTO schema_migrations VALUES (9999, 'future', 0)", "migration 9999"),
        # `_` matches any character in LIKE, and LIKE ignores case: a filter on 'sqlite_%'
        # would hide these from the comparison
        (
            "CREATE TRIGGER sqlitex_skip_the_code AFTER UPDATE OF me ON auth_sessions "
            "BEGIN UPDATE auth_sessions SET verified_at = 1 WHERE id_hash = NEW.id_hash; END",
            "unexpected trigger sqlitex_skip_the_code",
        ),
        ("CREATE VIEW SQLITEX AS SELECT 1", "unexpected view SQLITEX"),
    ],
)
async def test_restore_accepts_only_the_schema_the_migrations_produce(
    cli: Cli, env: dict[str, str], tmp_path: Path, tamper: str, found: str
) -> None:
    await (await open_db(env)).close()
    copy = tmp_path / "copy.db"
    assert (await cli("backup", str(copy), env=env)).code == 0
    with sqlite3.connect(copy) as connection:
        connection.execute(tamper)
    result = await cli("restore", str(copy), "--yes", env=env)
    assert result.code == 2 and found in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


async def test_database_backups_and_folders_are_private_whatever_the_umask(
    env: dict[str, str], tmp_path: Path
) -> None:
    database = tmp_path / "new" / "data" / "gondulf.db"
    env = {**env, "GONDULF_DATABASE_URL": f"sqlite:///{database}"}
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}

    async def run(*args: str) -> None:
        process = await asyncio.create_subprocess_exec(
            GONDULF,
            *args,
            env={**base, **env},
            cwd=tmp_path,
            preexec_fn=lambda: os.umask(0),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate()
        assert process.returncode == 0, err.decode()

    await run("migrate")
    await run("backup", str(tmp_path / "copy.db"))
    modes = {
        path.name: stat.S_IMODE(path.stat().st_mode)
        for path in (tmp_path / "new", tmp_path / "new" / "data", database, tmp_path / "copy.db")
    }
    assert modes == {"new": 0o700, "data": 0o700, "gondulf.db": 0o600, "copy.db": 0o600}
    old_umask = os.umask(0)
    try:
        db = await Database.open(database)
        await db.execute("INSERT INTO rate_limits VALUES ('x', 0, 1)")
        for suffix in ("-wal", "-shm"):
            sidecar = database.with_name(database.name + suffix)
            assert stat.S_IMODE(sidecar.stat().st_mode) == 0o600, suffix
        await db.close()
    finally:
        os.umask(old_umask)


async def test_a_backup_cleans_up_after_one_that_was_killed(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    await (await open_db(env)).close()
    for leftover in ("copy.db.partial", "copy.db.partial-journal"):
        (tmp_path / leftover).write_bytes(b"half a copy")
    result = await cli("backup", str(tmp_path / "copy.db"), env=env)
    assert result.code == 0, result.stderr
    assert sorted(p.name for p in tmp_path.glob("copy.db*")) == ["copy.db"]


async def test_a_database_locked_by_another_process_is_one_line_and_exit_4(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    await (await open_db(env)).close()
    other = sqlite3.connect(tmp_path / "gondulf.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing for a long time
    try:
        result = await cli("resource-servers", "add", "reader", env=env)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.code == 4, result.stderr
    assert result.stderr.strip().splitlines() == [
        "gondulf: error: the database failed: database is locked"
    ]


@pytest.mark.parametrize(
    "args",
    [
        ("tokens", "list"),
        ("purge",),
        ("domains", "list"),
        ("resource-servers", "list"),
        ("backup", "copy.db"),
        ("tokens", "revoke", "--client", "https://app.test/", "--yes"),
    ],
)
async def test_no_command_but_serve_and_migrate_creates_a_database(
    cli: Cli, env: dict[str, str], tmp_path: Path, args: tuple[str, ...]
) -> None:
    """Run from the wrong folder, a cron backup must not save a new empty database."""
    env = {**env, "GONDULF_DATABASE_URL": "sqlite:///data/gondulf.db"}  # relative: the cwd's
    result = await cli(*args, env=env)
    assert result.code == 4, result.stdout + result.stderr
    assert result.stderr.strip() == (
        f"gondulf: error: there is no database at {tmp_path / 'data' / 'gondulf.db'}"
        + (
            ": run `gondulf migrate` (or `gondulf serve`) to create it, or point "
            "GONDULF_DATABASE_URL at yours"
            if args[0] != "backup"
            else ""
        )
    )
    assert not (tmp_path / "data").exists()
    assert (await cli("migrate", env=env)).code == 0  # migrate may create it
    assert (tmp_path / "data" / "gondulf.db").is_file()
