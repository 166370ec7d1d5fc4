"""Email: the sign-in code message and sending it over SMTP without blocking.

STARTTLS (587), implicit TLS (465) or plain SMTP for a local relay, with an
optional login. In development mode with no SMTP host, messages go to the
log instead of a server: one line each (`code for jane@jane.example: 123456`),
with the whole message on the record for `gondulf demo`.
"""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib

from gondulf.config import SmtpSettings
from gondulf.errors import GondulfError
from gondulf.indieauth.urls import InvalidURL, canonical_host
from gondulf.services.metrics import Metrics
from gondulf.templating import render

log = logging.getLogger("gondulf.email")

CODE_SUBJECT = "Your sign-in code: "


class EmailError(GondulfError):
    """The message could not be handed to the SMTP server."""


@dataclass(frozen=True)
class SendResult:
    recipient: str
    response: str  # the server's final answer, or where the message went
    logged_only: bool = False


def parse_address(text: str) -> str | None:
    """`Jane@Example.COM` → `Jane@example.com`; None unless it is one plain address."""
    local, at, domain = text.strip().rpartition("@")
    if not at or not local or "@" in local or not domain or "." not in domain.strip("."):
        return None
    if any(c.isspace() or c in '<>,;"()[]\\' or ord(c) < 32 for c in text.strip()):
        return None
    try:
        return f"{local}@{canonical_host(domain)}"
    except InvalidURL:
        return None


def build_message(
    sender: str, recipient: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A complete message; EmailMessage itself refuses CR/LF in headers."""
    message = EmailMessage()
    try:
        message["From"] = sender
        message["To"] = recipient
        message["Subject"] = subject
    except ValueError as exc:
        raise EmailError(f"cannot build the email: {exc}") from exc
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip(">") or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def code_message(
    *,
    sender: str,
    recipient: str,
    code: str,
    me: str,
    issuer: str,
    minutes: int,
    client: str,
) -> EmailMessage:
    """The sign-in code; `client` is the app's address (host), never a name it chose."""
    context = {"code": code, "me": me, "client": client, "minutes": minutes, "issuer": issuer}
    return build_message(
        sender,
        recipient,
        CODE_SUBJECT + code,
        render("email/code.txt", **context),
        render("email/code.html", **context),
    )


def smtp_test_message(*, sender: str, recipient: str, issuer: str, smtp_host: str) -> EmailMessage:
    return build_message(
        sender,
        recipient,
        "Gondulf test message",
        render("email/test.txt", issuer=issuer, smtp_host=smtp_host or "the log"),
    )


def logged_line(message: EmailMessage) -> str:
    """What development mode logs in place of sending: the code alone, or the subject."""
    recipient, subject = str(message["To"]), str(message["Subject"])
    if subject.startswith(CODE_SUBJECT):
        return f"code for {recipient}: {subject.removeprefix(CODE_SUBJECT)}"
    return f"email to {recipient} not sent (development mode, no SMTP host): {subject}"


def connect_failure(exc: aiosmtplib.SMTPConnectError) -> str:
    """Why a connection failed, said once: aiosmtplib's message repeats host and port
    around the operating system's own message."""
    cause = exc.__cause__
    if isinstance(cause, ssl.SSLError):
        return (
            f"TLS failed ({cause.reason or cause}); check GONDULF_SMTP_USE_TLS and the port "
            "(465 speaks TLS at once, 587 and 25 start plain and upgrade)"
        )
    if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
        return os.strerror(cause.errno).lower()  # "connection refused", not the call's repr
    if isinstance(cause, OSError) and cause.strerror:  # a name that does not resolve
        return cause.strerror.lower()
    return exc.message


class EmailSender:
    def __init__(
        self,
        smtp: SmtpSettings,
        *,
        debug: bool,
        metrics: Metrics,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.smtp = smtp
        self.log_only = debug and not smtp.host
        self._tls_context = tls_context
        self._metrics = metrics

    async def send(self, message: EmailMessage) -> SendResult:
        """Hand the message to the SMTP server; EmailError (counted) when that fails."""
        try:
            result = await self._send(message)
        except EmailError:
            self._metrics.email_failed()
            raise
        if not result.logged_only:
            self._metrics.email_sent()
        return result

    async def _send(self, message: EmailMessage) -> SendResult:
        recipient = str(message["To"])
        if self.log_only:
            log.warning(
                "%s",
                logged_line(message),
                extra={"email_message": message},  # for `gondulf demo`, which shows it
            )
            return SendResult(recipient, "written to the log (development mode)", True)
        smtp = self.smtp
        try:
            _, response = await aiosmtplib.send(
                message,
                hostname=smtp.host,
                port=smtp.port,
                username=smtp.username or None,
                password=smtp.password or None,
                use_tls=smtp.implicit_tls,
                start_tls=smtp.starttls,
                timeout=smtp.timeout,
                tls_context=self._tls_context,
            )
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise EmailError(
                f"the SMTP server refused the login for {smtp.username!r}: {exc.code} {exc.message}"
            ) from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise EmailError(
                f"the SMTP server refused the recipient {recipient}: "
                + "; ".join(f"{e.code} {e.message}" for e in exc.recipients)
            ) from exc
        except aiosmtplib.SMTPTimeoutError as exc:
            raise EmailError(
                f"the SMTP server {smtp.host}:{smtp.port} did not answer within {smtp.timeout:g} s"
            ) from exc
        except aiosmtplib.SMTPConnectError as exc:
            raise EmailError(
                f"cannot connect to the SMTP server {smtp.host}:{smtp.port}: {connect_failure(exc)}"
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise EmailError(
                f"the SMTP server {smtp.host}:{smtp.port} answered {exc.code} {exc.message}"
            ) from exc
        except (aiosmtplib.SMTPException, OSError, ssl.SSLError, ValueError) as exc:
            raise EmailError(f"sending through {smtp.host}:{smtp.port} failed: {exc}") from exc
        log.info("email sent to %s through %s:%s", recipient, smtp.host, smtp.port)
        return SendResult(recipient, response)
