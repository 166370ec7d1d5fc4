"""`gondulf demo`: a whole sign-in on this machine, until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from gondulf.cli.output import console, run
from gondulf.cli.serve import listening_socket

LOOPBACK = "127.0.0.1"


def demo(
    port: Annotated[
        int,
        typer.Option(
            min=0,
            max=65535,
            metavar="PORT",
            show_default=False,
            help="Port Gondulf listens on, on 127.0.0.1 [default: a free one, so that a "
            "`serve --dev` on 8000 can keep running]. The demo's other servers always take "
            "free ports.",
        ),
    ] = 0,
) -> None:
    """Try a whole sign-in on this machine: Gondulf, a made-up person and an app.

    Starts Gondulf in development mode and, on 127.0.0.1, a DNS server answering
    for the made-up domain jane.demo.test (its _gondulf TXT record and address),
    her homepage (rel=me email, h-card) and an IndieAuth app, then prints one URL.
    Open it, sign in, and the app shows the token, introspection and userinfo
    answers. The sign-in code appears in the terminal. GONDULF_* settings and
    .env are not read; the database lives in a temporary folder removed at the end.
    """
    from gondulf.demo.terminal import announce, emails_shown
    from gondulf.demo.world import run_demo
    from gondulf.logs import configure_logging

    sock = listening_socket(LOOPBACK, port)
    configure_logging("INFO", "text")
    with emails_shown(console):
        run(
            run_demo(
                sock,
                announce=lambda started: announce(console, started),
                stopped=lambda: console.print("demo stopped"),
            )
        )
