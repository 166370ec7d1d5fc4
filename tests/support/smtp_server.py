"""An SMTP server on 127.0.0.1 (aiosmtpd): plain, STARTTLS-required or implicit TLS."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME, PASSWORD = "gondulf", "correct horse battery staple"


@dataclass
class Mailbox:
    """Accepts every recipient except addresses starting with `nobody@`."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    sessions_tls: list[bool] = field(default_factory=list)
    refuse_all: bool = False
    delay: float = 0.0  # seconds before accepting a message

    async def handle_RCPT(  # type: ignore[no-untyped-def]
        self, server, session, envelope, address, rcpt_options
    ):
        if address.startswith("nobody@") or self.refuse_all:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.delay)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), message))
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.sessions_tls.append(tls)
        return "250 2.0.0 Message accepted for delivery"


def _authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningSmtp:
    mailbox: Mailbox
    port: int
    mode: str


@contextmanager
def running_smtp(
    mode: str = "plain", *, server_context: ssl.SSLContext | None = None, login: bool = False
) -> Iterator[RunningSmtp]:
    """mode: `plain`, `starttls` (required before MAIL) or `implicit` (TLS from the start)."""
    mailbox = Mailbox()
    port = free_port()
    kwargs: dict[str, Any] = {}
    if mode == "starttls":
        kwargs.update(tls_context=server_context, require_starttls=True)
    elif mode == "implicit":
        kwargs.update(ssl_context=server_context)
    if login:
        kwargs.update(
            authenticator=_authenticator, auth_required=True, auth_require_tls=mode != "plain"
        )
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, server_hostname="localhost", **kwargs
    )
    controller.start()
    try:
        yield RunningSmtp(mailbox, port, mode)
    finally:
        controller.stop()


@contextmanager
def silent_tcp_port() -> Iterator[int]:
    """A port that accepts connections (in the kernel backlog) and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def body_of(message: EmailMessage, kind: str) -> str:
    """The text of the message's `plain` or `html` part."""
    part = message.get_body((kind,))
    assert isinstance(part, EmailMessage), f"no {kind} part"
    return str(part.get_content())
