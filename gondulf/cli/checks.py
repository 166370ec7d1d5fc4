"""Commands that check and prepare an installation: configuration, database, DNS, email."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from gondulf.cli.output import (
    FAIL,
    INFO,
    PASS,
    DevOption,
    JsonOption,
    console,
    fail,
    load,
    load_database_settings,
    one_line_failures,
    print_json,
    run,
)
from gondulf.errors import (
    EXIT_CHECK_FAILED,
    EXIT_CONFIG,
    EXIT_SERVICE,
    EXIT_USAGE,
    ConfigError,
)
from gondulf.timestamps import utc_text


def check_config(json_output: JsonOption = False, dev: DevOption = False) -> None:
    """Show the effective settings (secrets masked) and every problem with them."""
    report_settings(Path(".env"), json_output=json_output, dev=dev)


def report_settings(env_file: Path, *, json_output: bool, dev: bool = False) -> None:
    """check-config's report of the settings the environment and `env_file` make."""
    from gondulf.config import SETTING_SPECS, load_settings, read_environment, setting_sources

    sources = setting_sources(env_file=env_file)
    raw = read_environment(env_file=env_file)
    warnings = []
    try:
        settings = load_settings(env_file=env_file, dev=dev)
        values, problems, warnings = settings.masked(), [], settings.warnings()
    except ConfigError as exc:
        problems = exc.problems
        values = {
            spec.name: (
                "********"
                if spec.secret and raw.get(spec.name)
                else raw.get(spec.name, spec.default_text)
            )
            for spec in SETTING_SPECS
        }
    if json_output:
        print_json(
            {
                "ok": not problems,
                "settings": {
                    name: {"value": values[name], "source": sources[name]} for name in values
                },
                "problems": [{"variable": p.variable, "message": p.message} for p in problems],
                "warnings": [{"variable": w.variable, "message": w.message} for w in warnings],
            }
        )
    else:
        # Plain aligned lines, not a table: quick to print, easy to copy or grep.
        width = max(len(name) for name in values)
        lines = [
            f"{name:{width}}  {value or '(empty)'}  [{sources[name]}]"
            for name, value in values.items()
        ]
        console.print("Gondulf settings\n" + "\n".join(lines), markup=False)
        for problem in problems:
            console.print(f"{FAIL} {escape(str(problem))}")
        for warning in warnings:
            console.print(f"{INFO} {escape(str(warning))}")
        if not problems:
            console.print(f"{PASS} the configuration is valid")
    if problems:
        raise typer.Exit(EXIT_CONFIG)


def migrate(
    status: Annotated[
        bool, typer.Option("--status", help="Only list migrations and whether each is applied.")
    ] = False,
    json_output: JsonOption = False,
    dev: DevOption = False,
) -> None:
    """Apply pending database migrations (each in its own transaction)."""
    from gondulf.storage.sqlite.database import Database
    from gondulf.storage.sqlite.migrations import (
        MigrationStatus,
        apply_migrations,
        migration_status,
    )

    settings = load_database_settings(dev)

    async def work() -> tuple[list[str], list[MigrationStatus]]:
        db = await Database.open(settings.database_path)
        try:
            applied = [] if status else await apply_migrations(db)
            listing = await migration_status(db)
        finally:
            await db.close()
        return [f"{m.version:04d}_{m.name}" for m in applied], listing

    applied, listing = run(work())
    if json_output:
        print_json(
            {
                "database": str(settings.database_path),
                "applied_now": applied,
                "migrations": [m.__dict__ for m in listing],
            }
        )
        return
    if status:
        table = Table(title=f"Migrations of {settings.database_path}")
        for column in ("Version", "Name", "Applied"):
            table.add_column(column)
        for m in listing:
            table.add_row(
                f"{m.version:04d}", m.name, utc_text(m.applied_at, missing="[yellow]pending[/]")
            )
        console.print(table)
    elif applied:
        console.print(
            f"Applied {len(applied)} migration(s) to {settings.database_path}: "
            + ", ".join(applied)
        )
    else:
        console.print(f"{settings.database_path} is up to date.")


def verify_dns(
    domain: Annotated[
        str, typer.Argument(metavar="DOMAIN", help="The domain to check, such as example.com.")
    ],
    json_output: JsonOption = False,
    dev: DevOption = False,
) -> None:
    """Show what _gondulf.DOMAIN holds and whether it proves the domain."""
    from gondulf.config import Concern
    from gondulf.services.inspection import parse_target
    from gondulf.services.outside.dns import DomainProof
    from gondulf.services.runtime import open_services

    settings = load({Concern.DNS}, dev=dev)
    with one_line_failures():
        name, _ = parse_target(domain, debug=True)

    async def work() -> DomainProof:
        async with open_services(settings, database=False) as services:
            return await services.dns.verify_domain(name)

    proof = run(work())
    if json_output:
        print_json(
            {
                "domain": proof.domain,
                "record": proof.record_name,
                "status": proof.txt.status.value,
                "values": list(proof.txt.values),
                "verified": proof.verified,
                "fix": None if proof.verified else proof.fix,
            }
        )
    else:
        console.print(f"{PASS if proof.verified else FAIL} {escape(proof.txt.describe)}")
        if proof.verified:
            console.print(f"{escape(proof.domain)} is proven for Gondulf.")
        else:
            console.print(f"To fix: {escape(proof.fix)}")
    if proof.lookup_failed:
        raise typer.Exit(EXIT_SERVICE)
    if not proof.verified:
        raise typer.Exit(EXIT_CHECK_FAILED)


def send_test_email(
    address: Annotated[
        str, typer.Argument(metavar="ADDRESS", help="Where to send the test message.")
    ],
    json_output: JsonOption = False,
    dev: DevOption = False,
) -> None:
    """Send a test message with the configured SMTP settings and show the server's answer."""
    from gondulf.config import Concern
    from gondulf.services.outside.email import SendResult, parse_address, smtp_test_message
    from gondulf.services.runtime import open_services

    settings = load({Concern.SMTP, Concern.ISSUER}, dev=dev)
    recipient = parse_address(address)
    if recipient is None:
        fail(f"{address!r} is not an email address (such as jane@example.com)", EXIT_USAGE)

    async def work() -> SendResult:
        message = smtp_test_message(
            sender=settings.smtp.from_address,
            recipient=recipient,
            issuer=settings.issuer,
            smtp_host=settings.smtp.host,
        )
        async with open_services(settings, database=False) as services:
            return await services.email.send(message)

    result = run(work())
    if json_output:
        print_json(
            {
                "recipient": result.recipient,
                "response": result.response,
                "logged_only": result.logged_only,
            }
        )
    else:
        console.print(
            f"{PASS} sent to {escape(result.recipient)}; the server answered: "
            f"{escape(result.response)}"
        )


def inspect_domain(
    target: Annotated[
        str, typer.Argument(metavar="DOMAIN_OR_URL", help="A domain (example.com) or homepage URL.")
    ],
    json_output: JsonOption = False,
    dev: DevOption = False,
) -> None:
    """Check that a person's domain is ready to sign in here, with the fix for each failure."""
    from gondulf.config import Concern
    from gondulf.indieauth.endpoints import homepage_links
    from gondulf.services.inspection import Inspection
    from gondulf.services.inspection import inspect_domain as inspect
    from gondulf.services.runtime import open_services
    from gondulf.web.routes import advertised_endpoints

    settings = load({Concern.ISSUER, Concern.DNS, Concern.DATABASE, Concern.SERVER}, dev=dev)
    links = homepage_links(settings.issuer, advertised_endpoints(settings.issuer))

    async def work() -> Inspection:
        known = settings.database_path.exists()  # never create one to inspect a domain
        async with open_services(settings, database=known, migrate=known) as services:
            return await inspect(services, target, links)

    report = run(work())
    if json_output:
        print_json(
            {
                "domain": report.domain,
                "homepage": report.homepage_url,
                "ok": report.ok,
                "checks": [
                    {"name": c.name, "status": c.status, "detail": c.detail, "fix": c.fix}
                    for c in report.checks
                ],
            }
        )
    else:
        console.print(f"Inspecting {escape(report.domain)} ({escape(report.homepage_url)})")
        marks = {"pass": PASS, "fail": FAIL, "info": INFO}
        for check in report.checks:
            console.print(f"{marks[check.status]} {escape(check.name)}: {escape(check.detail)}")
            if check.fix:
                console.print(f"     fix: {escape(check.fix)}")
        console.print("Ready to sign in." if report.ok else "Not ready: apply the fixes above.")
    if not report.ok:
        raise typer.Exit(EXIT_CHECK_FAILED)
