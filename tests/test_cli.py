"""Every admin command through the real `gondulf` console script: output and exit codes."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from conftest import GONDULF, SECRET, CliResult
from support.dns_server import RunningDns
from support.server_process import wait_for_health
from support.smtp_server import free_port, running_smtp, silent_tcp_port
from support.web_server import Site, html, redirect

from gondulf import __version__
from gondulf.config import load_settings
from gondulf.services.domains import DomainService
from gondulf.services.outside.dns import (
    DnsService,
    DomainProof,
    LookupStatus,
    TxtResult,
    build_resolver,
)
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.migrations import apply_migrations, load_migrations
from gondulf.storage.sqlite.store import SQLiteStore

Cli = Callable[..., Awaitable[CliResult]]


def no_traceback(result: CliResult) -> None:
    assert "Traceback" not in result.stderr + result.stdout


def one_line_error(result: CliResult, *fragments: str) -> None:
    no_traceback(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("gondulf: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


# -- the command itself ---------------------------------------------------------------------


async def test_version(cli: Cli) -> None:
    result = await cli("--version")
    assert (result.code, result.stdout.strip()) == (0, f"gondulf {__version__}")


async def test_python_dash_m_runs_the_same_command(tmp_path: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gondulf", "--version", stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode == 0 and out.decode().strip() == f"gondulf {__version__}"


async def test_help_lists_every_command_and_exit_codes(cli: Cli) -> None:
    result = await cli("--help")
    assert result.code == 0
    for command in (
        "serve",
        "check-config",
        "migrate",
        "verify-dns",
        "send-test-email",
        "inspect-domain",
    ):
        assert command in result.stdout
    assert "Exit codes" in result.stdout


async def test_unknown_command_is_a_usage_error(cli: Cli) -> None:
    result = await cli("frobnicate")
    assert result.code == 2
    no_traceback(result)


# -- check-config ---------------------------------------------------------------------------


async def test_check_config_shows_masked_settings(cli: Cli, env: dict[str, str]) -> None:
    result = await cli(
        "check-config",
        env={**env, "GONDULF_SMTP_USERNAME": "mailer", "GONDULF_SMTP_PASSWORD": "pa55-word-xyz"},
    )
    assert result.code == 0, result.stderr
    assert "GONDULF_BASE_URL" in result.stdout and "https://auth.test/" in result.stdout
    assert SECRET not in result.stdout and "pa55-word-xyz" not in result.stdout
    assert "********" in result.stdout
    assert "the configuration is valid" in result.stdout


async def test_check_config_warns_when_production_trusts_no_proxy(
    cli: Cli, env: dict[str, str]
) -> None:
    result = await cli("check-config", "--json", env=env)
    data = json.loads(result.stdout)
    assert result.code == 0 and data["ok"] is True
    assert [w["variable"] for w in data["warnings"]] == ["GONDULF_TRUSTED_PROXIES"]
    shown = await cli("check-config", env=env)
    assert "INFO GONDULF_TRUSTED_PROXIES is empty" in shown.stdout
    proxied = await cli("check-config", env={**env, "GONDULF_TRUSTED_PROXIES": "127.0.0.1"})
    assert proxied.code == 0 and "INFO GONDULF_TRUSTED_PROXIES" not in proxied.stdout


async def test_check_config_reports_every_problem(cli: Cli) -> None:
    result = await cli(
        "check-config", env={"GONDULF_SECRET_KEY": "short-secret-value", "GONDULF_PORT": "x"}
    )
    assert result.code == 3
    for variable in ("GONDULF_SECRET_KEY", "GONDULF_BASE_URL", "GONDULF_SMTP_HOST", "GONDULF_PORT"):
        assert f"FAIL {variable}" in result.stdout
    assert "short-secret-value" not in result.stdout
    no_traceback(result)


async def test_check_config_json(cli: Cli, env: dict[str, str]) -> None:
    result = await cli("check-config", "--json", env={**env, "GONDULF_LOG_LEVEL": "LOUD"})
    assert result.code == 3
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert data["problems"][0]["variable"] == "GONDULF_LOG_LEVEL"
    assert data["settings"]["GONDULF_SECRET_KEY"] == {"value": "********", "source": "environment"}
    assert data["settings"]["GONDULF_PORT"]["source"] == "default"


async def test_check_config_reads_dotenv_in_working_directory(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / ".env").write_text(
        "".join(f"{k}={v}\n" for k, v in env.items()) + "GONDULF_PORT=9123\n"
    )
    result = await cli("check-config", "--json", env={"GONDULF_LOG_LEVEL": "DEBUG"})
    data = json.loads(result.stdout)
    assert result.code == 0 and data["ok"] is True
    assert data["settings"]["GONDULF_PORT"] == {"value": "9123", "source": ".env"}
    assert data["settings"]["GONDULF_LOG_LEVEL"] == {"value": "DEBUG", "source": "environment"}


def config_problems(result: CliResult) -> list[str]:
    """The problems of a configuration failure: a heading, one indented line each, a hint."""
    no_traceback(result)
    assert result.code == 3, result.stderr
    heading, *lines, hint = result.stderr.strip().splitlines()
    assert heading.startswith("gondulf: error: the configuration has ")
    assert "gondulf check-config" in hint
    assert all(line.startswith("  GONDULF_") for line in lines)
    return [line.split()[0] for line in lines]


async def test_a_command_lists_every_problem_with_what_it_uses_one_a_line(cli: Cli) -> None:
    result = await cli("send-test-email", "jane@jane.test", env={"GONDULF_SMTP_PORT": "x"})
    # what sending a message uses; not the secret key, which only sign-ins need
    assert config_problems(result) == [
        "GONDULF_SMTP_PORT",
        "GONDULF_BASE_URL",
        "GONDULF_SMTP_HOST",
    ]


async def test_a_database_command_needs_no_other_setting(cli: Cli, tmp_path: Path) -> None:
    unrelated_mistake = {"GONDULF_SMTP_PORT": "x", "GONDULF_BASE_URL": "ftp://nope"}
    assert (await cli("migrate", env=unrelated_mistake)).code == 0
    result = await cli("tokens", "list", "--json", env=unrelated_mistake)
    assert (result.code, json.loads(result.stdout)) == (0, [])
    assert not (tmp_path / "data" / "dev-secret-key").exists()


async def test_a_misspelt_setting_stops_every_command(cli: Cli) -> None:
    result = await cli("migrate", env={"GONDULF_DATABSE_URL": "sqlite:///elsewhere.db"})
    assert config_problems(result) == ["GONDULF_DATABSE_URL"]
    assert "did you mean GONDULF_DATABASE_URL?" in result.stderr


# -- migrate --------------------------------------------------------------------------------


async def test_migrate_applies_then_reports_up_to_date(cli: Cli, env: dict[str, str]) -> None:
    first = await cli("migrate", env=env)
    count = len(load_migrations())
    assert first.code == 0 and f"Applied {count} migration(s)" in first.stdout
    second = await cli("migrate", env=env)
    assert second.code == 0 and "is up to date" in second.stdout


async def test_migrate_status(cli: Cli, env: dict[str, str]) -> None:
    pending = await cli("migrate", "--status", "--json", env=env)
    data = json.loads(pending.stdout)
    assert data["migrations"][0]["applied_at"] is None and data["applied_now"] == []
    await cli("migrate", env=env)
    table = await cli("migrate", "--status", env=env)
    assert table.code == 0 and "0001" in table.stdout and "initial" in table.stdout
    assert "UTC" in table.stdout and "pending" not in table.stdout


async def test_migrate_reports_an_unusable_database(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "blocker").write_text("a file, not a folder")
    result = await cli(
        "migrate", env={**env, "GONDULF_DATABASE_URL": f"sqlite:///{tmp_path}/blocker/g.db"}
    )
    assert result.code == 4
    one_line_error(result, "cannot open the database")


# -- verify-dns -----------------------------------------------------------------------------


async def test_verify_dns_proven(cli: Cli, env: dict[str, str], dns: RunningDns) -> None:
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    result = await cli("verify-dns", "jane.test", env=env)
    assert result.code == 0
    assert "PASS" in result.stdout and "jane.test is proven" in result.stdout


async def test_verify_dns_missing_record_shows_the_fix(
    cli: Cli, env: dict[str, str], dns: RunningDns
) -> None:
    result = await cli("verify-dns", "jane.test", env=env)
    assert result.code == 1
    assert "_gondulf.jane.test does not exist" in result.stdout
    assert '_gondulf.jane.test. IN TXT "gondulf-verify-domain"' in result.stdout


async def test_verify_dns_json(cli: Cli, env: dict[str, str], dns: RunningDns) -> None:
    dns.zone.add_txt("_gondulf.jane.test", "something else")
    result = await cli("verify-dns", "https://Jane.test/", "--json", env=env)
    assert result.code == 1
    assert json.loads(result.stdout) == {
        "domain": "jane.test",
        "record": "_gondulf.jane.test",
        "status": "found",
        "values": ["something else"],
        "verified": False,
        "fix": 'add a TXT record: _gondulf.jane.test. IN TXT "gondulf-verify-domain"',
    }


async def test_verify_dns_timeout_is_a_service_failure(
    cli: Cli, env: dict[str, str], dead_dns_port: int
) -> None:
    result = await cli(
        "verify-dns",
        "jane.test",
        env={
            **env,
            "GONDULF_DNS_NAMESERVERS": f"127.0.0.1:{dead_dns_port}",
            "GONDULF_DNS_TIMEOUT": "0.5",
        },
    )
    assert result.code == 4
    assert "in time" in result.stdout
    # The record may well be there: the fix is about reaching DNS, not about adding it.
    assert "To fix: check that this machine can reach its DNS servers" in result.stdout
    assert "add a TXT record" not in result.stdout


@pytest.mark.parametrize("argument", ["not a domain", "ftp://jane.test/", "jane"])
async def test_verify_dns_refuses_a_bad_argument(
    cli: Cli, env: dict[str, str], argument: str
) -> None:
    result = await cli("verify-dns", argument, env=env)
    assert result.code == 2
    one_line_error(result, "is not a domain")


# -- send-test-email ------------------------------------------------------------------------


async def test_send_test_email_reports_the_server_answer(cli: Cli, env: dict[str, str]) -> None:
    with running_smtp("plain") as server:
        result = await cli(
            "send-test-email", "jane@jane.test", env={**env, "GONDULF_SMTP_PORT": str(server.port)}
        )
        assert result.code == 0, result.stderr
        assert "sent to jane@jane.test" in result.stdout
        assert "the server answered: 2.0.0 Message accepted for delivery" in result.stdout
        ((recipients, message),) = server.mailbox.messages
        assert recipients == ["jane@jane.test"]
        assert message["Subject"] == "Gondulf test message"


async def test_send_test_email_over_starttls_with_login(
    cli: Cli, env: dict[str, str], server_tls: ssl.SSLContext, ca_file: Path
) -> None:
    with running_smtp("starttls", server_context=server_tls, login=True) as server:
        result = await cli(
            "send-test-email",
            "jane@jane.test",
            "--json",
            env={
                **env,
                "GONDULF_SMTP_HOST": "localhost",
                "GONDULF_SMTP_PORT": str(server.port),
                "GONDULF_SMTP_USE_TLS": "true",
                "GONDULF_SMTP_USERNAME": "gondulf",
                "GONDULF_SMTP_PASSWORD": "correct horse battery staple",
                "SSL_CERT_FILE": str(ca_file),
            },
        )
        assert result.code == 0, result.stderr
        assert json.loads(result.stdout)["recipient"] == "jane@jane.test"
        assert server.mailbox.sessions_tls == [True]


async def test_send_test_email_refused_recipient(cli: Cli, env: dict[str, str]) -> None:
    with running_smtp("plain") as server:
        result = await cli(
            "send-test-email",
            "nobody@jane.test",
            env={**env, "GONDULF_SMTP_PORT": str(server.port)},
        )
    assert result.code == 4
    one_line_error(result, "refused the recipient nobody@jane.test")


async def test_send_test_email_timeout(cli: Cli, env: dict[str, str]) -> None:
    with silent_tcp_port() as port:
        result = await cli(
            "send-test-email",
            "jane@jane.test",
            env={**env, "GONDULF_SMTP_PORT": str(port), "GONDULF_SMTP_TIMEOUT": "0.5"},
        )
    assert result.code == 4
    one_line_error(result, "did not answer within 0.5 s")


async def test_send_test_email_refuses_a_bad_address(cli: Cli, env: dict[str, str]) -> None:
    result = await cli("send-test-email", "jane at example", env=env)
    assert result.code == 2
    one_line_error(result, "is not an email address")


async def test_send_test_email_in_development_mode_writes_to_the_log(
    cli: Cli, env: dict[str, str]
) -> None:
    result = await cli(
        "send-test-email",
        "jane@jane.test",
        env={**env, "GONDULF_DEBUG": "true", "GONDULF_SMTP_HOST": ""},
    )
    assert result.code == 0
    assert "written to the log" in result.stdout
    assert "Gondulf test message" in result.stderr


# -- inspect-domain -------------------------------------------------------------------------


def homepage_html(issuer: str) -> str:
    return f"""<html><head>
<link rel="me" href="mailto:jane@jane.test">
<link rel="indieauth-metadata" href="{issuer}.well-known/oauth-authorization-server">
<link rel="authorization_endpoint" href="{issuer}authorize">
<link rel="token_endpoint" href="{issuer}token">
</head><body><p class="h-card"><a class="p-name u-url" href="/">Jane</a></p></body></html>"""


@pytest.fixture
def dev_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "GONDULF_DEBUG": "true"}


async def test_inspect_domain_all_pass(
    cli: Cli, dev_env: dict[str, str], dns: RunningDns, sites: Callable[..., Site]
) -> None:
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", html(homepage_html("https://auth.test/"))).start()
    result = await cli("inspect-domain", site.url(), env=dev_env)
    assert result.code == 0, result.stdout + result.stderr
    assert result.stdout.count("PASS") == 6
    assert "sign-in codes go to jane@jane.test" in result.stdout
    assert "no database yet at" in result.stdout  # and none was created to say so
    assert "Ready to sign in." in result.stdout
    assert not load_settings(dev_env, env_file=None).database_path.exists()


async def test_inspect_domain_shows_each_fix(
    cli: Cli, dev_env: dict[str, str], dns: RunningDns, sites: Callable[..., Site]
) -> None:
    dns.zone.add_a("jane.test")
    page = (
        '<link rel="authorization_endpoint" href="https://elsewhere.test/auth"><p>Jane\'s page</p>'
    )
    site = await sites("jane.test").route("/", html(page)).start()
    result = await cli("inspect-domain", site.url(), "--json", env=dev_env)
    assert result.code == 1
    report = json.loads(result.stdout)
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is False and report["domain"] == "jane.test"
    assert (
        checks["DNS TXT record"]["fix"]
        == 'add a TXT record: _gondulf.jane.test. IN TXT "gondulf-verify-domain"'
    )
    assert checks["homepage"]["status"] == "pass"
    assert checks["rel=me email"]["fix"] == 'add <link rel="me" href="mailto:you@jane.test">'
    assert checks["rel=indieauth-metadata"]["fix"] == (
        'add <link rel="indieauth-metadata" '
        'href="https://auth.test/.well-known/oauth-authorization-server">'
    )
    assert (
        "points elsewhere: https://elsewhere.test/auth"
        in checks["rel=authorization_endpoint (older clients)"]["detail"]
    )
    assert checks["rel=token_endpoint (older clients)"]["status"] == "fail"


@pytest.mark.parametrize(("status", "verdict"), [(302, "fail"), (301, "info")])
async def test_inspect_domain_judges_a_redirect_to_another_site_like_a_sign_in(
    cli: Cli,
    dev_env: dict[str, str],
    dns: RunningDns,
    sites: Callable[..., Site],
    status: int,
    verdict: str,
) -> None:
    dns.zone.add_a("jane.test")
    dns.zone.add_a("other.test")
    other = await sites("other.test").route("/", html(homepage_html(""))).start()
    site = await sites("jane.test").route("/", redirect(other.url("/"), status)).start()
    result = await cli("inspect-domain", site.url(), "--json", env=dev_env)
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert checks["homepage"]["status"] == verdict


async def test_inspect_domain_unreachable_homepage(
    cli: Cli, dev_env: dict[str, str], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    result = await cli("inspect-domain", f"http://jane.test:{free_port()}/", env=dev_env)
    assert result.code == 1
    assert "FAIL homepage" in result.stdout and "could not be fetched" in result.stdout
    assert "fix: make http://jane.test:" in result.stdout


async def test_inspect_domain_shows_what_the_database_knows(
    cli: Cli, dev_env: dict[str, str], dns: RunningDns
) -> None:
    settings = load_settings(dev_env, env_file=None)
    db = await Database.open(settings.database_path)
    await apply_migrations(db)
    proof = DomainProof(
        "jane.test", TxtResult("_gondulf.jane.test", LookupStatus.FOUND, ("gondulf-verify-domain",))
    )
    domains = DomainService(SQLiteStore(db).domains, DnsService(build_resolver(())))
    await domains.record_check(proof, now=1_700_000_000)
    await db.close()
    result = await cli("inspect-domain", f"http://jane.test:{free_port()}/", env=dev_env)
    assert "last verified 2023-11-14 22:13 UTC" in result.stdout


async def test_inspect_domain_production_needs_https(cli: Cli, env: dict[str, str]) -> None:
    result = await cli("inspect-domain", "http://jane.test/", env=env)
    assert result.code == 2
    one_line_error(result, "is not a domain or https URL")


# -- serve ----------------------------------------------------------------------------------


async def test_serve_dev_needs_no_configuration_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    process = await asyncio.create_subprocess_exec(
        GONDULF,
        "serve",
        "--dev",
        "--port",
        str(port),
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        response = await wait_for_health(port)
        assert response.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), 15)
    log = err.decode()
    assert process.returncode == 0, log
    assert "development mode" in log and "Gondulf stopped" in log
    assert '"GET /health" 200' in log and "777333" not in log
    assert (tmp_path / "data" / "gondulf.db").is_file()
    assert (tmp_path / "data" / "dev-secret-key").is_file()


async def test_serve_stops_on_sigint_and_logs_json(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    process = await asyncio.create_subprocess_exec(
        GONDULF,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        cwd=tmp_path,
        env={**base, **env, "GONDULF_LOG_FORMAT": "json"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await wait_for_health(port)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = await asyncio.wait_for(process.communicate(), 15)
    assert process.returncode == 0
    lines = [json.loads(line) for line in err.decode().splitlines() if line.strip()]
    assert any(line["message"] == "Gondulf stopped" for line in lines)


async def test_serve_without_configuration_lists_what_is_missing(cli: Cli) -> None:
    result = await cli("serve")
    assert config_problems(result) == [
        "GONDULF_BASE_URL",
        "GONDULF_SECRET_KEY",
        "GONDULF_SMTP_HOST",
    ]


async def test_serve_on_a_busy_port_fails_in_one_line(cli: Cli, env: dict[str, str]) -> None:
    with silent_tcp_port() as port:
        result = await cli("serve", "--port", str(port), env=env)
    assert result.code == 4
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert "serving on" not in result.stderr  # said only once the port is ours
    no_traceback(result)


async def test_help_does_not_import_the_server_stack() -> None:
    code = (
        "import sys, gondulf.cli.main; "
        "print(','.join(m for m in ('aiohttp', 'aiosqlite', 'dns', 'aiosmtplib', 'mf2py', "
        "'jinja2') if m in sys.modules))"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert out.decode().strip() == ""


async def test_admin_commands_take_dev_like_serve(cli: Cli, tmp_path: Path) -> None:
    """Next to `gondulf serve --dev`, with nothing configured: its database and settings."""
    assert (await cli("tokens", "list", "--dev")).code == 4  # serve --dev has not run yet
    assert (await cli("migrate", "--dev")).code == 0  # what serve --dev does first
    assert (tmp_path / "data" / "gondulf.db").is_file()
    listed = await cli("tokens", "list", "--dev", "--json")
    assert (listed.code, json.loads(listed.stdout)) == (0, [])
    added = await cli("resource-servers", "add", "micropub", "--dev", "--json")
    assert added.code == 0 and json.loads(added.stdout)["name"] == "micropub"
    email = await cli("send-test-email", "jane@jane.test", "--dev", "--json")
    assert email.code == 0 and json.loads(email.stdout)["logged_only"] is True
    checked = await cli("check-config", "--dev", "--json")
    assert checked.code == 0 and json.loads(checked.stdout)["ok"] is True
