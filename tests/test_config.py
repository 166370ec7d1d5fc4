"""Settings: every variable, every error, all errors at once, .env vs environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from gondulf.config import SETTING_SPECS, Nameserver, load_settings
from gondulf.config.values import nameservers as parse_nameservers
from gondulf.errors import ConfigError
from gondulf.indieauth.issuer import normalise_issuer

MINIMAL = {
    "GONDULF_SECRET_KEY": "k" * 32,
    "GONDULF_BASE_URL": "https://auth.example.com",
    "GONDULF_SMTP_HOST": "smtp.example.com",
}


def load(**env: str):  # type: ignore[no-untyped-def]
    return load_settings({**MINIMAL, **env}, env_file=None)


def problems_of(env: dict[str, str], **kwargs) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError) as caught:
        load_settings(env, env_file=None, **kwargs)
    return {p.variable: p.message for p in caught.value.problems}


def test_defaults_match_the_documented_ones() -> None:
    settings = load()
    assert settings.base_url == "https://auth.example.com/"
    assert settings.database_path == Path.cwd() / "data" / "gondulf.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.smtp.port == 587 and settings.smtp.use_tls and settings.smtp.starttls
    assert settings.smtp.from_address == "gondulf@auth.example.com"
    assert settings.smtp.timeout == 10
    assert settings.dns_nameservers == ()
    assert (settings.code_expiry, settings.token_expiry) == (600, 3600)
    assert not settings.allow_no_pkce
    assert (settings.refresh_token_expiry, settings.cleanup_interval) == (2592000, 3600)
    assert (settings.log_level, settings.log_format, settings.debug) == ("INFO", "text", False)


def test_every_variable_is_read() -> None:
    settings = load(
        GONDULF_DATABASE_URL="sqlite:////var/lib/gondulf/g.db",
        GONDULF_HOST="0.0.0.0",
        GONDULF_PORT="9000",
        GONDULF_SMTP_PORT="465",
        GONDULF_SMTP_USERNAME="user",
        GONDULF_SMTP_PASSWORD="pw",
        GONDULF_SMTP_FROM="auth@example.com",
        GONDULF_SMTP_USE_TLS="yes",
        GONDULF_SMTP_TIMEOUT="2.5",
        GONDULF_DNS_NAMESERVERS="9.9.9.9, 127.0.0.1:5353",
        GONDULF_DNS_TIMEOUT="1.5",
        GONDULF_CODE_EXPIRY="300",
        GONDULF_TOKEN_EXPIRY="7200",
        GONDULF_ALLOW_NO_PKCE="true",
        GONDULF_REFRESH_TOKEN_EXPIRY="0",
        GONDULF_CLEANUP_INTERVAL="60",
        GONDULF_LOG_LEVEL="debug",
        GONDULF_LOG_FORMAT="JSON",
        GONDULF_DEBUG="true",
    )
    assert settings.database_path == Path("/var/lib/gondulf/g.db")
    assert (settings.host, settings.port) == ("0.0.0.0", 9000)
    smtp = settings.smtp
    assert (smtp.port, smtp.username, smtp.password) == (465, "user", "pw")
    assert smtp.implicit_tls and not smtp.starttls  # port 465 means implicit TLS
    assert smtp.from_address == "auth@example.com" and smtp.timeout == 2.5
    assert settings.dns_nameservers == (Nameserver("9.9.9.9"), Nameserver("127.0.0.1", 5353))
    assert settings.dns_timeout == 1.5
    assert settings.allow_no_pkce
    assert (settings.refresh_token_expiry, settings.cleanup_interval) == (0, 60)
    assert (settings.code_expiry, settings.token_expiry) == (300, 7200)
    assert (settings.log_level, settings.log_format, settings.debug) == ("DEBUG", "json", True)


def test_smtp_use_tls_false_means_plain_smtp() -> None:
    smtp = load(GONDULF_SMTP_USE_TLS="false", GONDULF_SMTP_PORT="465").smtp
    assert not smtp.implicit_tls and not smtp.starttls


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GONDULF_SECRET_KEY", "short", "at least 32"),
        ("GONDULF_BASE_URL", "ftp://auth.example.com/", "absolute http(s) URL"),
        ("GONDULF_BASE_URL", "http://auth.example.com/", "use https"),
        ("GONDULF_BASE_URL", "https://auth.example.com/?x=1", "query"),
        ("GONDULF_BASE_URL", "https://auth.example.com/#top", "fragment"),
        ("GONDULF_BASE_URL", "https://user:pw@auth.example.com/", "user:password"),
        ("GONDULF_BASE_URL", "https://auth.example.com:99999/", "port"),
        ("GONDULF_DATABASE_URL", "postgres://db/gondulf", "sqlite:///"),
        ("GONDULF_DATABASE_URL", "sqlite:///:memory:", "in-memory"),
        ("GONDULF_HOST", " ", "is empty"),
        ("GONDULF_PORT", "http", "whole number"),
        ("GONDULF_PORT", "70000", "1 to 65535"),
        ("GONDULF_SMTP_PORT", "0", "1 to 65535"),
        ("GONDULF_SMTP_FROM", "not-an-address", "not an email address"),
        ("GONDULF_SMTP_USE_TLS", "maybe", "true or false"),
        ("GONDULF_SMTP_TIMEOUT", "soon", "number of seconds"),
        ("GONDULF_SMTP_TIMEOUT", "0", "above 0"),
        ("GONDULF_DNS_NAMESERVERS", "dns.google", "not an IP address"),
        ("GONDULF_DNS_NAMESERVERS", "127.0.0.1:x", "no valid port"),
        ("GONDULF_DNS_NAMESERVERS", "[::1]x", "[address]:port"),
        ("GONDULF_DNS_TIMEOUT", "-2", "above 0"),
        ("GONDULF_CODE_EXPIRY", "3600", "30 to 600"),
        ("GONDULF_TOKEN_EXPIRY", "-1", "60 to"),
        ("GONDULF_LOG_LEVEL", "LOUD", "DEBUG, INFO"),
        ("GONDULF_LOG_FORMAT", "xml", "text, json"),
        ("GONDULF_DEBUG", "2", "true or false"),
    ],
)
def test_each_bad_value_is_named_with_its_fix(variable: str, value: str, expected: str) -> None:
    problems = problems_of({**MINIMAL, variable: value})
    assert list(problems) == [variable]
    assert expected in problems[variable]


def test_required_settings_are_reported_all_at_once() -> None:
    problems = problems_of({"GONDULF_PORT": "x", "GONDULF_LOG_LEVEL": "LOUD"})
    assert set(problems) == {
        "GONDULF_SECRET_KEY",
        "GONDULF_BASE_URL",
        "GONDULF_SMTP_HOST",
        "GONDULF_PORT",
        "GONDULF_LOG_LEVEL",
    }
    assert "is not set" in problems["GONDULF_SECRET_KEY"]
    assert "is not set" in problems["GONDULF_BASE_URL"]


def test_error_message_lists_every_problem_on_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"GONDULF_PORT": "x"}, env_file=None)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("configuration has 4 problems")
    assert "GONDULF_PORT" in message and "GONDULF_SECRET_KEY" in message


def test_secret_values_are_never_echoed() -> None:
    secret = "hunter2-hunter2"
    with pytest.raises(ConfigError) as caught:
        load_settings({**MINIMAL, "GONDULF_SECRET_KEY": secret}, env_file=None)
    assert secret not in str(caught.value)
    settings = load(GONDULF_SMTP_USERNAME="u", GONDULF_SMTP_PASSWORD="p4ssw0rd-value")
    assert "p4ssw0rd-value" not in repr(settings)
    assert "k" * 32 not in repr(settings)
    masked = settings.masked()
    assert masked["GONDULF_SECRET_KEY"] == "********"
    assert masked["GONDULF_SMTP_PASSWORD"] == "********"


def test_smtp_login_needs_both_name_and_password() -> None:
    assert "GONDULF_SMTP_PASSWORD" in problems_of({**MINIMAL, "GONDULF_SMTP_USERNAME": "u"})
    assert "GONDULF_SMTP_USERNAME" in problems_of({**MINIMAL, "GONDULF_SMTP_PASSWORD": "p"})


def test_unknown_gondulf_variable_is_a_problem_with_a_suggestion() -> None:
    problems = problems_of({**MINIMAL, "GONDULF_SMTP_HOTS": "x"})
    assert "did you mean GONDULF_SMTP_HOST?" in problems["GONDULF_SMTP_HOTS"]


def test_other_variables_are_ignored() -> None:
    assert load_settings({**MINIMAL, "HOME": "/root", "PATH": "/bin"}, env_file=None)


def test_base_url_is_normalised_to_end_in_slash_with_lowercase_host() -> None:
    assert (
        normalise_issuer("https://Auth.Example.COM", allow_http=False)
        == "https://auth.example.com/"
    )
    assert (
        normalise_issuer("https://example.com/auth", allow_http=False)
        == "https://example.com/auth/"
    )
    assert (
        normalise_issuer("https://example.com:8443/", allow_http=False)
        == "https://example.com:8443/"
    )


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/", "http://localhost:8000", "http://[::1]:8000/"]
)
def test_http_base_url_is_allowed_on_loopback(url: str) -> None:
    assert load(GONDULF_BASE_URL=url).base_url.startswith("http://")


def test_http_base_url_is_allowed_in_debug_mode() -> None:
    settings = load(GONDULF_BASE_URL="http://auth.example.com", GONDULF_DEBUG="true")
    assert settings.base_url == "http://auth.example.com/"


def test_smtp_host_is_optional_in_debug_mode() -> None:
    env = {**MINIMAL, "GONDULF_DEBUG": "true"}
    del env["GONDULF_SMTP_HOST"]
    assert load_settings(env, env_file=None).smtp.host == ""


def test_nameserver_list_forms() -> None:
    assert parse_nameservers("") == ()
    assert parse_nameservers("1.1.1.1,, [2001:db8::1]:5353 , ::1") == (
        Nameserver("1.1.1.1"),
        Nameserver("2001:db8::1", 5353),
        Nameserver("::1"),
    )
    assert str(Nameserver("::1", 5353)) == "[::1]:5353"
    assert str(Nameserver("127.0.0.1", 5353)) == "127.0.0.1:5353"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in MINIMAL.items()) + "GONDULF_PORT=9100\n")
    assert load_settings({}, env_file=env_file).port == 9100


def test_environment_wins_over_dotenv_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("GONDULF_PORT=9100\nGONDULF_LOG_LEVEL=DEBUG\n")
    settings = load_settings({**MINIMAL, "GONDULF_PORT": "9200"}, env_file=env_file)
    assert settings.port == 9200
    assert settings.log_level == "DEBUG"


def test_missing_dotenv_file_is_fine(tmp_path: Path) -> None:
    assert load_settings(MINIMAL, env_file=tmp_path / "absent.env").port == 8000


def test_dev_mode_needs_no_configuration(tmp_path: Path) -> None:
    env = {"GONDULF_DATABASE_URL": f"sqlite:///{tmp_path}/data/g.db"}
    settings = load_settings(env, env_file=None, dev=True)
    assert settings.debug
    assert settings.base_url == "http://localhost:8000/"  # a secure context for browsers
    assert len(settings.secret_key) >= 32
    assert settings.smtp.host == ""
    secret_file = tmp_path / "data" / "dev-secret-key"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    # the secret is generated once and kept
    assert load_settings(env, env_file=None, dev=True).secret_key == settings.secret_key


def test_dev_mode_base_url_follows_host_and_port(tmp_path: Path) -> None:
    env = {"GONDULF_DATABASE_URL": f"sqlite:///{tmp_path}/g.db"}
    settings = load_settings(
        env, env_file=None, dev=True, overrides={"GONDULF_HOST": "0.0.0.0", "GONDULF_PORT": "8123"}
    )
    assert settings.base_url == "http://localhost:8123/"
    settings = load_settings(env, env_file=None, dev=True, overrides={"GONDULF_HOST": "::1"})
    assert settings.base_url == "http://localhost:8000/"


def test_every_setting_has_a_default_and_help() -> None:
    names = [spec.name for spec in SETTING_SPECS]
    assert len(names) == len(set(names))
    assert all(spec.help for spec in SETTING_SPECS)
    assert set(load().masked()) == set(names)
