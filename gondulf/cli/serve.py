"""`gondulf serve`: run the server until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from gondulf.cli.output import fail, one_line_failures
from gondulf.errors import EXIT_SERVICE

log = logging.getLogger("gondulf")


def serve(
    host: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS", help="Address to listen on [default: GONDULF_HOST or 127.0.0.1]."
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            metavar="PORT",
            help="Port to listen on [default: GONDULF_PORT or 8000].",
        ),
    ] = None,
    dev: Annotated[
        bool,
        typer.Option(
            "--dev",
            help="Development mode with no configuration: "
            "a generated secret kept in the data folder, SQLite "
            "under ./data, http on loopback, emails written to "
            "the log. Never in production.",
        ),
    ] = False,
) -> None:
    """Run the IndieAuth server (applies pending migrations first)."""
    from aiohttp import web

    from gondulf.config import load_settings
    from gondulf.logs import configure_logging
    from gondulf.web.access_log import AccessLogger
    from gondulf.web.app import create_app

    overrides = {}
    if host is not None:
        overrides["GONDULF_HOST"] = host
    if port is not None:
        overrides["GONDULF_PORT"] = str(port)
    with one_line_failures():
        settings = load_settings(dev=dev, overrides=overrides)

    configure_logging(settings.log_level, settings.log_format)
    if settings.debug:
        log.warning(
            "development mode: http, loopback fetches and logged emails are allowed; "
            "never run it like this in production"
        )
    for warning in settings.warnings():
        log.warning("%s", warning)
    log.info(
        "Gondulf serving on http://%s:%s/ as issuer %s (database %s)",
        settings.host,
        settings.port,
        settings.issuer,
        settings.database_path,
    )
    try:
        with one_line_failures():
            web.run_app(
                create_app(settings),
                host=settings.host,
                port=settings.port,
                access_log_class=AccessLogger,
                print=None,
                shutdown_timeout=10,
                # Also the time a new connection has to send its headers: no slow drip.
                keepalive_timeout=settings.request_timeout,
                handle_signals=True,
            )
    except OSError as exc:  # the address is taken or not ours
        fail(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}", EXIT_SERVICE
        )
    log.info("Gondulf stopped")
