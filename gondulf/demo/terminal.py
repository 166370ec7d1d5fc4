"""What the demo says in its terminal: the one URL to open, and the emails it "sends".

Development mode writes each email to the log (gondulf.services.outside.email);
in the demo the terminal is the person's mailbox, so each email is shown as a
box holding its subject, which carries the sign-in code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from gondulf.demo.world import Demo

EMAIL_LOGGER = "gondulf.email"


def announce(console: Console, demo: Demo) -> None:
    console.print()
    console.print("[bold]Gondulf demo[/bold]: a whole IndieAuth sign-in on this machine.")
    console.print()
    console.print(
        f"    Open this in your browser:  [bold cyan]{escape(demo.start_url)}[/bold cyan]"
    )
    console.print()
    console.print(
        f"The app signs you in as {escape(demo.person_name)}, a made-up person whose DNS and "
        "homepage exist only while the demo runs."
    )
    console.print("[bold]The sign-in code will appear here[/bold], in this terminal.")
    console.print("Press Ctrl-C to stop.")
    console.print()


class EmailsToTerminal(logging.Handler):
    """Shows each email development mode writes to the log as a box on the console."""

    def __init__(self, console: Console) -> None:
        super().__init__(logging.INFO)
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        message = getattr(record, "email_message", None)
        if not isinstance(message, EmailMessage):
            return
        body = Group(
            Text(str(message["Subject"]), style="bold yellow"),
            Text("(development mode shows emails here instead of sending them)", style="dim"),
        )
        self.console.print(Panel(body, title=escape(f"Email to {message['To']}"), expand=False))


@contextmanager
def emails_shown(console: Console) -> Iterator[None]:
    """While it lasts, emails go to the console as boxes instead of the log."""
    logger = logging.getLogger(EMAIL_LOGGER)
    handler = EmailsToTerminal(console)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
