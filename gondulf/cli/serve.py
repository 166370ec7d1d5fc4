"""`gondulf serve`: run the server until SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import socket
from typing import TYPE_CHECKING, Annotated

import typer

from gondulf.cli.output import fail, one_line_failures, run
from gondulf.errors import EXIT_SERVICE

if TYPE_CHECKING:
    from gondulf.config import Settings

log = logging.getLogger("gondulf")
SHUTDOWN_TIMEOUT = 10.0
BACKLOG = 512


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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            metavar="N",
            help="Server processes sharing the port and the database; a worker that exits "
            "is started again.",
        ),
    ] = 1,
    worker_socket: Annotated[int | None, typer.Option(hidden=True)] = None,
) -> None:
    """Run the IndieAuth server (applies pending migrations first)."""
    from gondulf.config import load_settings
    from gondulf.logs import configure_logging

    overrides = {}
    if host is not None:
        overrides["GONDULF_HOST"] = host
    if port is not None:
        overrides["GONDULF_PORT"] = str(port)
    with one_line_failures():
        settings = load_settings(dev=dev, overrides=overrides)
    configure_logging(settings.log_level, settings.log_format)

    if worker_socket is not None:  # one of the supervisor's workers
        _run(settings, socket.socket(fileno=worker_socket))
        return
    sock = listening_socket(settings.host, settings.port)
    if settings.debug:
        log.warning(
            "development mode: http, loopback fetches and logged emails are allowed; "
            "never run it like this in production"
        )
    for warning in settings.warnings():
        log.warning("%s", warning)
    log.info(
        "Gondulf serving on %s as issuer %s (database %s%s)",
        _address(sock),
        settings.issuer,
        settings.database_path.absolute(),
        f", {workers} workers" if workers > 1 else "",
    )
    if workers == 1:
        _run(settings, sock)
    else:
        from gondulf.cli.supervisor import Supervisor

        run(_prepare(settings))  # migrate once, and fail here rather than in every worker
        worker_args = ["serve", *(["--dev"] if dev else [])]
        worker_args += [f"--host={host}"] if host is not None else []
        worker_args += [f"--port={port}"] if port is not None else []
        code = Supervisor(sock, workers, worker_args, SHUTDOWN_TIMEOUT).run()
        if code:
            raise typer.Exit(code)
    log.info("Gondulf stopped")


def listening_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is announced; one line when it cannot be."""
    try:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:  # the address is taken or not ours
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", EXIT_SERVICE)
    return sock


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


async def _prepare(settings: Settings) -> None:
    from gondulf.services.runtime import open_services, require_writable

    async with open_services(settings, migrate=True, create=True) as services:
        await require_writable(services)


def _run(settings: Settings, sock: socket.socket) -> None:
    from aiohttp import web

    from gondulf.web.access_log import AccessLogger
    from gondulf.web.app import create_app

    with one_line_failures():
        web.run_app(
            create_app(settings),
            sock=sock,
            access_log_class=AccessLogger,
            print=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            # Also the time a new connection has to send its headers: no slow drip.
            keepalive_timeout=settings.request_timeout,
            handle_signals=True,
        )
