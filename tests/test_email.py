"""Email over a real SMTP server on 127.0.0.1: each TLS mode, login, refusals, timeouts."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from dataclasses import replace
from email.message import EmailMessage

import pytest
from support.smtp_server import (
    PASSWORD,
    USERNAME,
    RunningSmtp,
    body_of,
    running_smtp,
    silent_tcp_port,
)

from gondulf.config import SmtpSettings
from gondulf.services.metrics import Metrics
from gondulf.services.outside.email import (
    EmailError,
    EmailSender,
    build_message,
    code_message,
    parse_address,
)


def smtp_settings(
    port: int,
    *,
    use_tls: bool = False,
    login: bool = False,
    password: str = PASSWORD,
    timeout: float = 5,
) -> SmtpSettings:
    return SmtpSettings(
        host="localhost",
        port=port,
        username=USERNAME if login else "",
        password=password if login else "",
        from_address="gondulf@auth.test",
        use_tls=use_tls,
        timeout=timeout,
    )


def sign_in_code(to: str = "jane@jane.test"):  # type: ignore[no-untyped-def]
    return code_message(
        sender="gondulf@auth.test",
        recipient=to,
        code="123456",
        me="https://jane.test/",
        issuer="https://auth.test/",
        minutes=10,
        client="Quill <script>",
    )


@pytest.fixture
def plain() -> Iterator[RunningSmtp]:
    with running_smtp("plain") as server:
        yield server


async def test_plain_smtp_delivers_a_complete_message(plain: RunningSmtp) -> None:
    sender = EmailSender(smtp_settings(plain.port), debug=False, metrics=Metrics())
    result = await sender.send(sign_in_code())
    assert "250" in result.response or "accepted" in result.response.lower()
    ((recipients, message),) = plain.mailbox.messages
    assert recipients == ["jane@jane.test"]
    for header in ("From", "To", "Subject", "Date", "Message-ID"):
        assert message[header], header
    assert message["Subject"] == "Your sign-in code: 123456"
    assert plain.mailbox.sessions_tls == [False]


def test_code_email_has_text_and_escaped_html_parts() -> None:
    message = sign_in_code()
    text, html = body_of(message, "plain"), body_of(message, "html")
    assert "123456" in text and "https://jane.test/" in text and "10 minutes" in text
    assert "123456" in html
    assert "Quill &lt;script&gt;" in html and "<script>" not in html


async def test_starttls_is_used_when_the_server_requires_it(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp("starttls", server_context=server_tls) as server:
        sender = EmailSender(
            smtp_settings(server.port, use_tls=True),
            debug=False,
            tls_context=client_tls,
            metrics=Metrics(),
        )
        await sender.send(sign_in_code())
        assert server.mailbox.sessions_tls == [True]


async def test_implicit_tls_speaks_tls_from_the_first_byte(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp("implicit", server_context=server_tls) as server:
        settings = replace(smtp_settings(server.port, use_tls=True), implicit_tls=True)
        await EmailSender(settings, debug=False, tls_context=client_tls, metrics=Metrics()).send(
            sign_in_code()
        )
        assert server.mailbox.sessions_tls == [True]


async def test_starttls_client_cannot_talk_to_an_implicit_tls_port(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp("implicit", server_context=server_tls) as server:
        settings = smtp_settings(server.port, use_tls=True, timeout=1)
        with pytest.raises(EmailError):
            await EmailSender(
                settings, debug=False, tls_context=client_tls, metrics=Metrics()
            ).send(sign_in_code())
        assert server.mailbox.messages == []


async def test_untrusted_certificate_is_refused(server_tls: ssl.SSLContext) -> None:
    with running_smtp("starttls", server_context=server_tls) as server:
        sender = EmailSender(
            smtp_settings(server.port, use_tls=True), debug=False, metrics=Metrics()
        )
        with pytest.raises(EmailError, match="failed|certificate"):
            await sender.send(sign_in_code())
        assert server.mailbox.messages == []


async def test_plain_mode_cannot_send_where_starttls_is_required(
    server_tls: ssl.SSLContext,
) -> None:
    with running_smtp("starttls", server_context=server_tls) as server:
        sender = EmailSender(
            smtp_settings(server.port, use_tls=False), debug=False, metrics=Metrics()
        )
        with pytest.raises(EmailError, match="530|STARTTLS"):
            await sender.send(sign_in_code())


async def test_login_succeeds_with_the_right_password(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp("starttls", server_context=server_tls, login=True) as server:
        sender = EmailSender(
            smtp_settings(server.port, use_tls=True, login=True),
            debug=False,
            tls_context=client_tls,
            metrics=Metrics(),
        )
        await sender.send(sign_in_code())
        assert len(server.mailbox.messages) == 1


async def test_wrong_password_is_an_authentication_error(
    server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    with running_smtp("starttls", server_context=server_tls, login=True) as server:
        sender = EmailSender(
            smtp_settings(server.port, use_tls=True, login=True, password="wrong-password"),
            debug=False,
            tls_context=client_tls,
            metrics=Metrics(),
        )
        with pytest.raises(EmailError, match="refused the login") as caught:
            await sender.send(sign_in_code())
        assert "wrong-password" not in str(caught.value)
        assert server.mailbox.messages == []


async def test_plain_login_for_a_local_relay() -> None:
    with running_smtp("plain", login=True) as server:
        sender = EmailSender(smtp_settings(server.port, login=True), debug=False, metrics=Metrics())
        await sender.send(sign_in_code())
        assert len(server.mailbox.messages) == 1


async def test_refused_recipient_is_reported(plain: RunningSmtp) -> None:
    sender = EmailSender(smtp_settings(plain.port), debug=False, metrics=Metrics())
    with pytest.raises(EmailError, match="refused the recipient nobody@jane.test: 550"):
        await sender.send(sign_in_code("nobody@jane.test"))


async def test_silent_server_times_out() -> None:
    with silent_tcp_port() as port:
        sender = EmailSender(smtp_settings(port, timeout=0.5), debug=False, metrics=Metrics())
        with pytest.raises(EmailError, match="did not answer within 0.5 s"):
            await sender.send(sign_in_code())


async def test_closed_port_is_a_connection_error() -> None:
    with silent_tcp_port() as port:
        pass  # closed again: nothing listens there now
    sender = EmailSender(smtp_settings(port), debug=False, metrics=Metrics())
    with pytest.raises(EmailError) as failure:
        await sender.send(sign_in_code())
    # Said once: no second copy of the host and port, no call's repr.
    assert (
        str(failure.value)
        == f"cannot connect to the SMTP server localhost:{port}: connection refused"
    )


async def test_implicit_tls_against_a_plain_server_says_which_setting_to_check(
    client_tls: ssl.SSLContext,
) -> None:
    with running_smtp("plain") as server:
        settings = replace(smtp_settings(server.port, use_tls=True, timeout=2), implicit_tls=True)
        with pytest.raises(EmailError) as failure:
            await EmailSender(
                settings, debug=False, metrics=Metrics(), tls_context=client_tls
            ).send(sign_in_code())
    message = str(failure.value)
    assert message.startswith(
        f"cannot connect to the SMTP server localhost:{server.port}: TLS failed"
    )
    assert "GONDULF_SMTP_USE_TLS" in message and message.count(str(server.port)) == 1


async def test_debug_mode_without_smtp_host_logs_one_line_per_code(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = SmtpSettings("", 587, "", "", "gondulf@auth.test", True, 5)
    sender = EmailSender(settings, debug=True, metrics=Metrics())
    with caplog.at_level(logging.WARNING, logger="gondulf.email"):
        result = await sender.send(sign_in_code())
    assert result.logged_only
    (record,) = caplog.records
    assert record.getMessage() == "code for jane@jane.test: 123456"
    # The whole message rides on the record, for `gondulf demo`, never in the text.
    message = getattr(record, "email_message", None)
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Your sign-in code: 123456"
    assert "Content-Type" not in caplog.text


async def test_debug_mode_logs_other_emails_by_their_subject(
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = SmtpSettings("", 587, "", "", "gondulf@auth.test", True, 5)
    sender = EmailSender(settings, debug=True, metrics=Metrics())
    message = build_message("gondulf@auth.test", "jane@jane.test", "Gondulf test message", "Hi")
    with caplog.at_level(logging.WARNING, logger="gondulf.email"):
        await sender.send(message)
    assert caplog.messages == [
        "email to jane@jane.test not sent (development mode, no SMTP host): Gondulf test message"
    ]


def test_production_never_logs_instead_of_sending() -> None:
    settings = SmtpSettings("", 587, "", "", "gondulf@auth.test", True, 5)
    assert not EmailSender(settings, debug=False, metrics=Metrics()).log_only


def test_header_injection_is_refused() -> None:
    with pytest.raises(EmailError):
        build_message("gondulf@auth.test", "jane@jane.test\r\nBcc: evil@evil.test", "s", "t")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jane@Example.COM", "Jane@example.com"),
        ("jane@example", None),
        ("jane", None),
        ("@example.com", None),
        ("a b@example.com", None),
        ("jane@example.com,evil@evil.test", None),
        ("<jane@example.com>", None),
    ],
)
def test_parse_address(text: str, expected: str | None) -> None:
    assert parse_address(text) == expected
