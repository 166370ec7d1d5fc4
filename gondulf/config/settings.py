"""Every setting, declared once: its variable, parser, typed default, secrecy and help.

Each field of Settings (and of its SmtpSettings and Limits parts) carries its
declaration. Loading, masking, `gondulf check-config`, `.env.example`, the
README's table and the man page's ENVIRONMENT section are all derived from
SETTING_SPECS, which walks these fields in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gondulf.config import values
from gondulf.config.values import Nameserver, Network
from gondulf.errors import ConfigProblem
from gondulf.indieauth.issuer import is_ip_literal

SPEC = "gondulf.setting"
PART = "gondulf.settings-part"  # a field holding a settings dataclass of its own
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
MAX_CODE_EXPIRY = 600  # IndieAuth: authorization codes live 10 minutes at most
YEAR = 366 * 86400


class Concern(Enum):
    """What a setting is for. A command asks only for the concerns it uses, so that
    `gondulf tokens list` runs without SMTP settings or a secret key."""

    DATABASE = "database"
    ISSUER = "issuer"
    SECRET = "secret"  # noqa: S105 - a concern's name
    SMTP = "smtp"
    DNS = "dns"
    SERVER = "server"  # everything else `gondulf serve` uses


ALL_CONCERNS = frozenset(Concern)


def concern_of(variable: str) -> Concern:
    if variable.startswith("GONDULF_SMTP_"):
        return Concern.SMTP
    if variable.startswith("GONDULF_DNS_"):
        return Concern.DNS
    return {
        "GONDULF_DATABASE_URL": Concern.DATABASE,
        "GONDULF_BASE_URL": Concern.ISSUER,
        "GONDULF_SECRET_KEY": Concern.SECRET,
    }.get(variable, Concern.SERVER)


@dataclass(frozen=True)
class SettingSpec:
    name: str  # the environment variable
    parse: Callable[[str], Any]  # its text → the field's value, or ValueError with the fix
    default: Any  # the field's value when the variable is not set
    help: str
    secret: bool = False
    show: Callable[[Any], str] = values.show  # a value → its text in .env
    documented_default: str | None = None  # what the docs say when the default is derived

    @property
    def default_text(self) -> str:
        return self.show(self.default)

    @property
    def default_for_people(self) -> str:
        """The default as the README and man page say it."""
        if self.documented_default is not None:
            return self.documented_default
        return f"`{self.default_text}`" if self.default_text else "(empty)"


def setting(
    name: str,
    parse: Callable[[str], Any],
    default: Any,
    help: str,
    *,
    secret: bool = False,
    show: Callable[[Any], str] = values.show,
    documented_default: str | None = None,
) -> dict[str, SettingSpec]:
    """The metadata declaring a field's variable: `field(metadata=setting(...))`."""
    return {SPEC: SettingSpec(name, parse, default, help, secret, show, documented_default)}


def _limit(name: str, default: int, help: str) -> dict[str, SettingSpec]:
    return setting(f"GONDULF_LIMIT_{name}", values.whole_number(1, 1_000_000), default, help)


@dataclass(frozen=True)
class SmtpSettings:
    host: str = field(
        metadata=setting(
            "GONDULF_SMTP_HOST",
            values.text,
            "",
            "SMTP server for sign-in codes. Required unless "
            "GONDULF_DEBUG=true, where an empty value writes emails to the log.",
            documented_default="(required in production)",
        )
    )
    port: int = field(
        metadata=setting(
            "GONDULF_SMTP_PORT",
            values.whole_number(1, 65535),
            587,
            "SMTP port. 465 means implicit TLS.",
        )
    )
    username: str = field(
        metadata=setting(
            "GONDULF_SMTP_USERNAME",
            values.text,
            "",
            "SMTP login; empty means no login. Set together with the password.",
        )
    )
    password: str = field(
        repr=False,
        metadata=setting("GONDULF_SMTP_PASSWORD", values.text, "", "SMTP password.", secret=True),
    )
    from_address: str = field(
        metadata=setting(
            "GONDULF_SMTP_FROM",
            values.text,
            "",
            "From address of emails; empty means gondulf@<host of the base URL>.",
            documented_default="`gondulf@<host of base URL>`",
        )
    )
    use_tls: bool = field(
        metadata=setting(
            "GONDULF_SMTP_USE_TLS",
            values.boolean,
            True,
            "true: implicit TLS on port 465, STARTTLS on any other port. "
            "false: plain SMTP, for a relay on the same machine.",
        )
    )
    timeout: float = field(
        metadata=setting(
            "GONDULF_SMTP_TIMEOUT", values.seconds, 10.0, "Seconds to wait for the SMTP server."
        )
    )
    implicit_tls: bool = False  # derived: TLS from the first byte (port 465)

    @property
    def starttls(self) -> bool:
        return self.use_tls and not self.implicit_tls


@dataclass(frozen=True)
class Limits:
    """Abuse limits, each counted per party over one window (an hour)."""

    signins_per_ip: int = field(
        metadata=_limit("SIGNINS_PER_IP", 30, "Sign-ins one client address may start in an hour.")
    )
    codes_per_ip: int = field(
        metadata=_limit(
            "CODES_PER_IP",
            5,
            "Emailed codes one client address may have sent in an hour. "
            "Must stay below the per-address limit, so that no one network "
            "can use up a person's codes.",
        )
    )
    codes_per_address: int = field(
        metadata=_limit(
            "CODES_PER_ADDRESS", 10, "Emailed codes one email address may receive in an hour."
        )
    )
    codes_per_domain: int = field(
        metadata=_limit(
            "CODES_PER_DOMAIN",
            20,
            "Emailed codes one domain may receive in an hour, whoever asks: the last backstop.",
        )
    )
    codes_per_session: int = field(
        metadata=_limit(
            "CODES_PER_SESSION",
            3,
            "Emailed codes one sign-in may send (the first and the resent ones).",
        )
    )
    wrong_codes_per_ip: int = field(
        metadata=_limit(
            "WRONG_CODES_PER_IP",
            10,
            "Wrong codes one client address may enter in an hour; "
            "past it, a wrong code ends that code at once (a right "
            "one still works).",
        )
    )
    failed_api_per_ip: int = field(
        metadata=_limit(
            "FAILED_API_PER_IP",
            100,
            "Failed token, introspection, revocation and userinfo "
            "calls one client address may make in an hour.",
        )
    )
    window: int = 3600  # seconds every limit counts over


@dataclass(frozen=True)
class Settings:
    secret_key: str = field(
        repr=False,
        metadata=setting(
            "GONDULF_SECRET_KEY",
            values.text,
            "",
            "Required. Random string of at least 32 "
            "characters that keys the stored digests (HMAC) of emailed sign-in codes, so a copy "
            "of the database alone does not reveal them. Generate one with "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`.",
            secret=True,
            documented_default="(required)",
        ),
    )
    base_url: str = field(
        metadata=setting(
            "GONDULF_BASE_URL",
            values.issuer_syntax,
            "",
            "Required. Public URL of this server; it "
            "is the issuer. Normalised to end in `/`. Must be https unless GONDULF_DEBUG=true or "
            "the host is a loopback address.",
            documented_default="(required)",
        )
    )
    database_path: Path = field(
        metadata=setting(
            "GONDULF_DATABASE_URL",
            values.database_path,
            Path("data/gondulf.db"),
            "SQLite file: `sqlite:///relative/path` or `sqlite:////absolute/path`. The folder is "
            "created.",
            show=values.show_database_path,
        )
    )
    host: str = field(
        metadata=setting(
            "GONDULF_HOST", values.text, "127.0.0.1", "Address `gondulf serve` listens on."
        )
    )
    port: int = field(
        metadata=setting(
            "GONDULF_PORT", values.whole_number(1, 65535), 8000, "Port `gondulf serve` listens on."
        )
    )
    smtp: SmtpSettings = field(metadata={PART: SmtpSettings})
    dns_nameservers: tuple[Nameserver, ...] = field(
        metadata=setting(
            "GONDULF_DNS_NAMESERVERS",
            values.nameservers,
            (),
            "Comma-separated `ip` or `ip:port` "
            "(`[ipv6]:port`) resolvers used for every lookup: TXT records and the addresses of "
            "hosts Gondulf fetches. Empty: the system resolver, or public resolvers when the "
            "system has none.",
        )
    )
    dns_timeout: float = field(
        metadata=setting(
            "GONDULF_DNS_TIMEOUT",
            values.seconds,
            5.0,
            "Seconds a DNS lookup may take, retries included.",
        )
    )
    code_expiry: int = field(
        metadata=setting(
            "GONDULF_CODE_EXPIRY",
            values.whole_number(30, MAX_CODE_EXPIRY),
            600,
            f"Seconds an emailed or authorization code stays valid (30 to {MAX_CODE_EXPIRY}).",
        )
    )
    token_expiry: int = field(
        metadata=setting(
            "GONDULF_TOKEN_EXPIRY",
            values.whole_number(60, YEAR),
            3600,
            "Seconds an access token stays valid.",
        )
    )
    refresh_token_expiry: int = field(
        metadata=setting(
            "GONDULF_REFRESH_TOKEN_EXPIRY",
            values.whole_number(0, YEAR),
            2592000,
            "Seconds (30 days) a refresh token stays valid without being used; every use gives a "
            "new one. `0` issues no refresh tokens.",
        )
    )
    cleanup_interval: int = field(
        metadata=setting(
            "GONDULF_CLEANUP_INTERVAL",
            values.whole_number(10, 86400),
            3600,
            "Seconds between the server's purges of expired codes, sign-in sessions, tokens and "
            "counters (also `gondulf purge`).",
        )
    )
    allow_no_pkce: bool = field(
        metadata=setting(
            "GONDULF_ALLOW_NO_PKCE",
            values.boolean,
            False,
            "`true` lets older clients sign in "
            "without PKCE (then a `code_verifier` is refused at redemption). Leave `false` unless "
            "an app you need cannot send `code_challenge`.",
        )
    )
    trusted_proxies: tuple[Network, ...] = field(
        metadata=setting(
            "GONDULF_TRUSTED_PROXIES",
            values.networks,
            (),
            "Comma-separated addresses or CIDR "
            "networks (`127.0.0.1`, `10.0.0.0/8`) of the reverse proxies in front of Gondulf. Only "
            "a request from one of them may name the client's address (`X-Forwarded-For`, or "
            "`Forwarded`) and say it arrived over https (`X-Forwarded-Proto`). Empty: the "
            "socket's peer is the client.",
        )
    )
    request_timeout: float = field(
        metadata=setting(
            "GONDULF_REQUEST_TIMEOUT",
            values.seconds,
            10.0,
            "Seconds a client may take to send a request's headers, and again to send its body.",
        )
    )
    page_timeout: float = field(
        metadata=setting(
            "GONDULF_PAGE_TIMEOUT",
            values.seconds,
            25.0,
            "Seconds a sign-in page may spend on DNS, web sites and email before it answers "
            "that it took too long. Keep it below your reverse proxy's timeout (nginx and "
            "most load balancers: 60).",
        )
    )
    passkeys: bool = field(
        metadata=setting(
            "GONDULF_PASSKEYS",
            values.boolean,
            True,
            "`true` lets a person who signed in with an emailed code register a passkey, and "
            "prove themselves with it instead of a code at later sign-ins (the DNS record is "
            "still checked). Browsers need a host name in GONDULF_BASE_URL, not an IP "
            "address: in development use `http://localhost:PORT/`.",
        )
    )
    email_reproof_days: int = field(
        metadata=setting(
            "GONDULF_EMAIL_REPROOF_DAYS",
            values.whole_number(0, 3650),
            30,
            "Days a passkey may stand in for the emailed code: once an identity's last "
            "emailed code is older, its next sign-in asks for a code again, which checks that "
            "the homepage still names an address the person reads. `0`: never again.",
        )
    )
    limits: Limits = field(metadata={PART: Limits})
    log_level: str = field(
        metadata=setting(
            "GONDULF_LOG_LEVEL",
            values.choice(LOG_LEVELS, upper=True),
            "INFO",
            "`DEBUG`, `INFO`, `WARNING`, `ERROR` or `CRITICAL`.",
        )
    )
    log_format: str = field(
        metadata=setting(
            "GONDULF_LOG_FORMAT",
            values.choice(LOG_FORMATS),
            "text",
            "`text` for people, `json` (one object a line) for log collectors.",
        )
    )
    metrics: bool = field(
        metadata=setting(
            "GONDULF_METRICS",
            values.boolean,
            False,
            "`true` serves Prometheus metrics at `/metrics`, only to loopback addresses and "
            "GONDULF_TRUSTED_PROXIES. Each `--workers` process counts on its own.",
        )
    )
    debug: bool = field(
        metadata=setting(
            "GONDULF_DEBUG",
            values.boolean,
            False,
            "Development mode: allows http URLs, ports in "
            "profile URLs and fetching loopback and private addresses. Never in production.",
        )
    )

    @property
    def issuer(self) -> str:
        return self.base_url

    def warnings(self) -> list[ConfigProblem]:
        """Valid but probably unintended settings, said at start and by check-config."""
        found = []
        if not self.debug and not self.trusted_proxies and self.base_url.startswith("https:"):
            found.append(
                ConfigProblem(
                    "GONDULF_TRUSTED_PROXIES",
                    "is empty, so Gondulf takes each connection's peer "
                    "for the client and sends every plain-HTTP request to https. Behind a reverse "
                    "proxy, list the proxy's address (such as 127.0.0.1): otherwise everyone "
                    "shares the proxy's limits and the https redirect loops.",
                )
            )
        host = urlsplit(self.base_url).hostname or ""
        if self.passkeys and is_ip_literal(host):
            found.append(
                ConfigProblem(
                    "GONDULF_PASSKEYS",
                    f"is true, but the host of GONDULF_BASE_URL ({host}) is an IP address, "
                    "which browsers refuse for passkeys: passkeys are not offered. In "
                    "development use a name, such as GONDULF_BASE_URL=http://localhost:8000/.",
                )
            )
        return found

    def masked(self) -> dict[str, str]:
        """The effective settings by variable name, secrets masked."""
        return {spec.name: mask(spec, spec.show(value)) for spec, value in declared(self)}


def mask(spec: SettingSpec, text: str) -> str:
    if spec.secret:
        return "********" if text else "(not set)"
    return text


def walk(cls: type[Any]) -> Iterator[tuple[str, SettingSpec | type[Any]]]:
    """Each field with its declaration, or the settings dataclass it holds (a part)."""
    for item in fields(cls):
        declared_as = item.metadata.get(SPEC) or item.metadata.get(PART)
        if declared_as is not None:
            yield item.name, declared_as


def specs_of(cls: type[Any]) -> list[SettingSpec]:
    """Every SettingSpec of a settings dataclass, depth first, in declaration order."""
    found: list[SettingSpec] = []
    for _, item in walk(cls):
        found.extend([item] if isinstance(item, SettingSpec) else specs_of(item))
    return found


def declared(instance: Any) -> list[tuple[SettingSpec, Any]]:
    """Every (spec, value) of a settings object, in SETTING_SPECS order."""
    found: list[tuple[SettingSpec, Any]] = []
    for name, item in walk(type(instance)):
        value = getattr(instance, name)
        found.extend([(item, value)] if isinstance(item, SettingSpec) else declared(value))
    return found


SETTING_SPECS: tuple[SettingSpec, ...] = tuple(specs_of(Settings))
SPECS_BY_NAME = {spec.name: spec for spec in SETTING_SPECS}
