"""Settings: every `GONDULF_*` variable, read once, validated completely.

The environment wins over a `.env` file in the working directory. Validation
collects every problem before failing, so one run tells the operator all
that needs fixing; messages name the variable and the fix and never echo a
secret value.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values

from gondulf.errors import ConfigError, ConfigProblem
from gondulf.files import private_folder

PREFIX = "GONDULF_"
DEV_SECRET_FILE = "dev-secret-key"  # noqa: S105 - a file name
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")
MAX_CODE_EXPIRY = 600  # IndieAuth: authorization codes live 10 minutes at most


@dataclass(frozen=True)
class SettingSpec:
    """One documented variable: its name, default (as written in .env) and meaning."""

    name: str
    default: str
    help: str
    secret: bool = False


SETTING_SPECS: tuple[SettingSpec, ...] = (
    SettingSpec("GONDULF_SECRET_KEY", "", "Required. Random string of at least 32 characters "
                "that keys the stored digests of emailed sign-in codes. Generate one with "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`.", secret=True),
    SettingSpec("GONDULF_BASE_URL", "", "Required. Public URL of this server; it is the issuer. "
                "Must be https unless GONDULF_DEBUG=true or the host is a loopback address."),
    SettingSpec("GONDULF_DATABASE_URL", "sqlite:///./data/gondulf.db",
                "SQLite database: sqlite:///relative/path or sqlite:////absolute/path. "
                "The parent folder is created."),
    SettingSpec("GONDULF_HOST", "127.0.0.1", "Address `gondulf serve` listens on."),
    SettingSpec("GONDULF_PORT", "8000", "Port `gondulf serve` listens on."),
    SettingSpec("GONDULF_SMTP_HOST", "", "SMTP server for sign-in codes. Required unless "
                "GONDULF_DEBUG=true, where an empty value writes emails to the log."),
    SettingSpec("GONDULF_SMTP_PORT", "587", "SMTP port. 465 means implicit TLS."),
    SettingSpec("GONDULF_SMTP_USERNAME", "", "SMTP login name; empty means no login."),
    SettingSpec("GONDULF_SMTP_PASSWORD", "", "SMTP password.", secret=True),
    SettingSpec("GONDULF_SMTP_FROM", "", "From address of emails; empty means "
                "gondulf@<host of GONDULF_BASE_URL>."),
    SettingSpec("GONDULF_SMTP_USE_TLS", "true", "true: implicit TLS on port 465, STARTTLS "
                "on any other port. false: plain SMTP, for a relay on the same machine."),
    SettingSpec("GONDULF_SMTP_TIMEOUT", "10", "Seconds to wait for the SMTP server."),
    SettingSpec("GONDULF_DNS_NAMESERVERS", "", "Comma-separated `ip` or `ip:port` resolvers "
                "for every lookup. Empty: the system resolver, with public resolvers as "
                "fallback when the system has none."),
    SettingSpec("GONDULF_DNS_TIMEOUT", "5", "Seconds a DNS lookup may take, retries included."),
    SettingSpec("GONDULF_CODE_EXPIRY", "600", "Seconds an emailed or authorization code "
                "stays valid (at most 600)."),
    SettingSpec("GONDULF_TOKEN_EXPIRY", "3600", "Seconds an access token stays valid."),
    SettingSpec("GONDULF_REFRESH_TOKEN_EXPIRY", "2592000", "Seconds a refresh token stays "
                "valid without being used (each use gives a new one). 0 issues no refresh "
                "tokens."),
    SettingSpec("GONDULF_CLEANUP_INTERVAL", "3600", "Seconds between the server's purges of "
                "expired codes, sessions, tokens and counters."),
    SettingSpec("GONDULF_ALLOW_NO_PKCE", "false", "true lets older clients sign in without "
                "PKCE. Leave false unless an app you need cannot send code_challenge."),
    SettingSpec("GONDULF_TRUSTED_PROXIES", "", "Comma-separated addresses or CIDR networks of "
                "the reverse proxies in front of Gondulf. Only a request from one of them may "
                "name the client's address (X-Forwarded-For, or Forwarded) and say it came "
                "over https (X-Forwarded-Proto). Empty: the socket's peer is the client."),
    SettingSpec("GONDULF_REQUEST_TIMEOUT", "10", "Seconds a client may take to send a "
                "request's headers, and again to send its body."),
    SettingSpec("GONDULF_LIMIT_SIGNINS_PER_IP", "30", "Sign-ins one client address may start "
                "in an hour."),
    SettingSpec("GONDULF_LIMIT_CODES_PER_IP", "5", "Emailed codes one client address may "
                "have sent in an hour (below the per-address limit, so that no one network "
                "can use up a person's codes)."),
    SettingSpec("GONDULF_LIMIT_CODES_PER_ADDRESS", "10", "Emailed codes one email address "
                "may receive in an hour."),
    SettingSpec("GONDULF_LIMIT_CODES_PER_DOMAIN", "20", "Emailed codes one domain may "
                "receive in an hour, whoever asks: the last backstop."),
    SettingSpec("GONDULF_LIMIT_CODES_PER_SESSION", "3", "Emailed codes one sign-in may send "
                "(the first and the resent ones)."),
    SettingSpec("GONDULF_LIMIT_WRONG_CODES_PER_IP", "10", "Wrong codes one client address may "
                "enter in an hour; past it, a wrong code ends that code at once (a right "
                "one still works)."),
    SettingSpec("GONDULF_LIMIT_FAILED_API_PER_IP", "100", "Failed token, introspection, "
                "revocation and userinfo calls one client address may make in an hour."),
    SettingSpec("GONDULF_LOG_LEVEL", "INFO", "One of DEBUG, INFO, WARNING, ERROR, CRITICAL."),
    SettingSpec("GONDULF_LOG_FORMAT", "text", "`text` for people, `json` for log collectors."),
    SettingSpec("GONDULF_DEBUG", "false", "Development mode: allows http URLs, ports in "
                "profile URLs and fetching loopback addresses. Never in production."),
)
SPECS_BY_NAME = {spec.name: spec for spec in SETTING_SPECS}


@dataclass(frozen=True)
class Nameserver:
    address: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return self.address if self.port == 53 else f"{host}:{self.port}"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str
    password: str = field(repr=False)
    from_address: str
    use_tls: bool
    timeout: float
    implicit_tls: bool = False  # TLS from the first byte; the settings set it for port 465

    @property
    def starttls(self) -> bool:
        return self.use_tls and not self.implicit_tls


@dataclass(frozen=True)
class Limits:
    """Abuse limits, each counted per party over one window (an hour)."""

    signins_per_ip: int = 30
    codes_per_ip: int = 5
    codes_per_address: int = 10
    codes_per_domain: int = 20
    codes_per_session: int = 3
    wrong_codes_per_ip: int = 10
    failed_api_per_ip: int = 100
    window: int = 3600


LIMIT_SETTINGS = {
    "GONDULF_LIMIT_SIGNINS_PER_IP": "signins_per_ip",
    "GONDULF_LIMIT_CODES_PER_IP": "codes_per_ip",
    "GONDULF_LIMIT_CODES_PER_ADDRESS": "codes_per_address",
    "GONDULF_LIMIT_CODES_PER_DOMAIN": "codes_per_domain",
    "GONDULF_LIMIT_CODES_PER_SESSION": "codes_per_session",
    "GONDULF_LIMIT_WRONG_CODES_PER_IP": "wrong_codes_per_ip",
    "GONDULF_LIMIT_FAILED_API_PER_IP": "failed_api_per_ip",
}
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Settings:
    secret_key: str = field(repr=False)
    base_url: str
    database_path: Path
    host: str
    port: int
    smtp: SmtpSettings
    dns_nameservers: tuple[Nameserver, ...]
    dns_timeout: float
    code_expiry: int
    token_expiry: int
    refresh_token_expiry: int
    cleanup_interval: int
    allow_no_pkce: bool
    trusted_proxies: tuple[Network, ...]
    request_timeout: float
    limits: Limits
    log_level: str
    log_format: str
    debug: bool

    @property
    def issuer(self) -> str:
        return self.base_url

    def warnings(self) -> list[ConfigProblem]:
        """Valid but probably unintended settings, said at start and by check-config."""
        found = []
        if not self.debug and not self.trusted_proxies and self.base_url.startswith("https:"):
            found.append(ConfigProblem(
                "GONDULF_TRUSTED_PROXIES", "is empty, so Gondulf takes each connection's peer "
                "for the client and sends every plain-HTTP request to https. Behind a reverse "
                "proxy, list the proxy's address (such as 127.0.0.1): otherwise everyone "
                "shares the proxy's limits and the https redirect loops."))
        return found

    def masked(self) -> dict[str, str]:
        """The effective settings by variable name, secrets masked."""
        smtp = self.smtp
        values = {
            "GONDULF_SECRET_KEY": self.secret_key,
            "GONDULF_BASE_URL": self.base_url,
            "GONDULF_DATABASE_URL": f"sqlite:///{self.database_path}",
            "GONDULF_HOST": self.host,
            "GONDULF_PORT": str(self.port),
            "GONDULF_SMTP_HOST": smtp.host,
            "GONDULF_SMTP_PORT": str(smtp.port),
            "GONDULF_SMTP_USERNAME": smtp.username,
            "GONDULF_SMTP_PASSWORD": smtp.password,
            "GONDULF_SMTP_FROM": smtp.from_address,
            "GONDULF_SMTP_USE_TLS": str(smtp.use_tls).lower(),
            "GONDULF_SMTP_TIMEOUT": f"{smtp.timeout:g}",
            "GONDULF_DNS_NAMESERVERS": ",".join(str(ns) for ns in self.dns_nameservers),
            "GONDULF_DNS_TIMEOUT": f"{self.dns_timeout:g}",
            "GONDULF_CODE_EXPIRY": str(self.code_expiry),
            "GONDULF_TOKEN_EXPIRY": str(self.token_expiry),
            "GONDULF_REFRESH_TOKEN_EXPIRY": str(self.refresh_token_expiry),
            "GONDULF_CLEANUP_INTERVAL": str(self.cleanup_interval),
            "GONDULF_ALLOW_NO_PKCE": str(self.allow_no_pkce).lower(),
            "GONDULF_TRUSTED_PROXIES": ",".join(str(n) for n in self.trusted_proxies),
            "GONDULF_REQUEST_TIMEOUT": f"{self.request_timeout:g}",
            **{name: str(getattr(self.limits, field))
               for name, field in LIMIT_SETTINGS.items()},
            "GONDULF_LOG_LEVEL": self.log_level,
            "GONDULF_LOG_FORMAT": self.log_format,
            "GONDULF_DEBUG": str(self.debug).lower(),
        }
        for spec in SETTING_SPECS:
            if spec.secret:
                values[spec.name] = "********" if values[spec.name] else "(not set)"
        return values


def read_environment(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """`GONDULF_*` variables from the `.env` file, overridden by the environment."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        for key, value in dotenv_values(env_file).items():
            if key.startswith(PREFIX) and value is not None:
                merged[key] = value
    source = os.environ if environ is None else environ
    merged.update({k: v for k, v in source.items() if k.startswith(PREFIX)})
    return merged


def setting_sources(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """Where each variable's value comes from: `environment`, `.env` or `default`."""
    from_file = set()
    if env_file is not None and env_file.is_file():
        from_file = {k for k, v in dotenv_values(env_file).items() if v is not None}
    source = os.environ if environ is None else environ
    return {
        spec.name: "environment" if spec.name in source
        else ".env" if spec.name in from_file else "default"
        for spec in SETTING_SPECS
    }


T = TypeVar("T")


class _Reader:
    """Parses raw values, recording a problem instead of stopping at the first."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = raw
        self.problems: list[ConfigProblem] = []

    def text(self, name: str) -> str:
        return self.raw.get(name, SPECS_BY_NAME[name].default).strip()

    def problem(self, name: str, message: str) -> None:
        self.problems.append(ConfigProblem(name, message))

    def parse(
        self, name: str, parser: Callable[[str], T], fallback: T, value: str | None = None
    ) -> T:
        value = self.text(name) if value is None else value
        try:
            return parser(value)
        except ValueError as exc:
            if not value:
                self.problem(name, f"is not set; {exc}")
            else:
                shown = "" if SPECS_BY_NAME[name].secret else f" {value!r}"
                self.problem(name, f"value{shown} is not valid: {exc}")
            return fallback


def _parse_bool(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("use true or false")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("use a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"use a number from {low} to {high}")
        return number

    return parse


def _parse_timeout(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("use a number of seconds, such as 10") from None
    if not 0 < number <= 300:
        raise ValueError("use a number of seconds above 0 and at most 300")
    return number


def _choice(options: tuple[str, ...], *, upper: bool = False) -> Callable[[str], str]:
    def parse(value: str) -> str:
        normal = value.upper() if upper else value.lower()
        if normal not in options:
            raise ValueError(f"use one of {', '.join(options)}")
        return normal

    return parse


def parse_nameservers(value: str) -> tuple[Nameserver, ...]:
    """`1.1.1.1, 127.0.0.1:5353, [::1]:53` → nameservers; empty → ()."""
    servers = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        address, port = item, 53
        if item.startswith("["):
            address, _, rest = item[1:].partition("]")
            if rest:
                if not rest.startswith(":"):
                    raise ValueError(f"{item!r}: write an IPv6 resolver as [address]:port")
                port = _port_of(item, rest[1:])
        elif item.count(":") == 1:
            address, port_text = item.split(":")
            port = _port_of(item, port_text)
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address (names cannot be used)") from None
        servers.append(Nameserver(address, port))
    return tuple(servers)


def parse_networks(value: str) -> tuple[Network, ...]:
    """`127.0.0.1, 10.0.0.0/8, ::1` → networks (an address is a network of one); empty → ()."""
    networks = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or CIDR network "
                             "(such as 127.0.0.1 or 10.0.0.0/8)") from None
    return tuple(networks)


def _port_of(item: str, text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"{item!r} has no valid port (1-65535)")
    return int(text)


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def normalise_base_url(value: str, *, debug: bool) -> str:
    """The issuer: http(s), no query, fragment or credentials, path ending in `/`."""
    if not value:
        raise ValueError("use the public URL of this server, such as https://auth.example.com/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("use an absolute http(s) URL such as https://auth.example.com/")
    if parts.query or parts.fragment or "#" in value or parts.username or parts.password:
        raise ValueError("remove the query, fragment or user:password part")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 1 to 65535") from None
    if parts.scheme == "http" and not debug and not is_loopback_host(parts.hostname):
        raise ValueError("use https (http is allowed only with GONDULF_DEBUG=true "
                         "or a loopback host)")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{netloc}{path}"


def parse_database_url(value: str) -> Path:
    prefix = "sqlite:///"
    if not value.startswith(prefix) or len(value) == len(prefix):
        raise ValueError("use sqlite:///relative/path.db or sqlite:////absolute/path.db")
    path = value[len(prefix):]
    if path == ":memory:":
        raise ValueError("an in-memory database loses every sign-in on restart; use a file")
    return Path(path)


def dev_base_url(host: str, port: int) -> str:
    """The issuer `serve --dev` uses when none is set: the address it listens on."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - a wildcard is reached on loopback
        host = "127.0.0.1"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def dev_secret(data_dir: Path) -> str:
    """The development secret: generated once, then read back from the data folder."""
    path = data_dir / DEV_SECRET_FILE
    if path.is_file():
        return path.read_text().strip()
    private_folder(data_dir)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")
    return secret


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: Path | None = Path(".env"),
    dev: bool = False,
    overrides: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings or raise ConfigError listing every problem.

    `dev` is `gondulf serve --dev`: development mode with nothing configured.
    `overrides` are command-line options, which win over everything.
    """
    raw = read_environment(environ, env_file)
    raw.update(overrides or {})
    read = _Reader(raw)

    for name in sorted(set(raw) - set(SPECS_BY_NAME)):
        close = difflib.get_close_matches(name, SPECS_BY_NAME, n=1)
        hint = f"did you mean {close[0]}?" if close else "remove it or check the spelling"
        read.problem(name, f"is not a Gondulf setting; {hint}")

    debug = True if dev else read.parse("GONDULF_DEBUG", _parse_bool, False)
    host = read.text("GONDULF_HOST")
    if not host:
        read.problem("GONDULF_HOST", "is empty; use an address such as 127.0.0.1 or 0.0.0.0")
    port = read.parse("GONDULF_PORT", _int_between(1, 65535), 8000)
    database_path = read.parse("GONDULF_DATABASE_URL", parse_database_url,
                               Path("data/gondulf.db"))

    base_text = read.text("GONDULF_BASE_URL")
    if dev and not base_text:
        base_text = dev_base_url(host, port)
    base_url = read.parse("GONDULF_BASE_URL", lambda v: normalise_base_url(v, debug=debug),
                          "http://127.0.0.1/", value=base_text)

    secret_key = read.text("GONDULF_SECRET_KEY")
    if dev and not secret_key:
        secret_key = dev_secret(database_path.parent)
    if not secret_key:
        read.problem("GONDULF_SECRET_KEY", "is not set; set it to a random string of at least "
                     "32 characters (python3 -c 'import secrets; "
                     "print(secrets.token_urlsafe(48))')")
    elif len(secret_key) < 32:
        read.problem("GONDULF_SECRET_KEY", f"is {len(secret_key)} characters long; use at least "
                     "32 random characters")

    smtp_host = read.text("GONDULF_SMTP_HOST")
    if not smtp_host and not debug:
        read.problem("GONDULF_SMTP_HOST", "is not set; Gondulf cannot email sign-in codes. "
                     "Set it to your SMTP server, such as smtp.example.com")
    username = read.text("GONDULF_SMTP_USERNAME")
    password = read.text("GONDULF_SMTP_PASSWORD")
    if bool(username) != bool(password):
        missing = "GONDULF_SMTP_PASSWORD" if username else "GONDULF_SMTP_USERNAME"
        read.problem(missing, "is not set while the other SMTP login setting is; set both or "
                     "neither")
    host_of_base = urlsplit(base_url).hostname or "localhost"
    from_address = read.text("GONDULF_SMTP_FROM") or f"gondulf@{host_of_base}"
    if "\n" in from_address or "\r" in from_address or "@" not in from_address:
        read.problem("GONDULF_SMTP_FROM", "is not an email address; use one such as "
                     "gondulf@example.com")
    smtp_port = read.parse("GONDULF_SMTP_PORT", _int_between(1, 65535), 587)
    use_tls = read.parse("GONDULF_SMTP_USE_TLS", _parse_bool, True)
    smtp = SmtpSettings(
        host=smtp_host,
        port=smtp_port,
        username=username,
        password=password,
        from_address=from_address,
        use_tls=use_tls,
        timeout=read.parse("GONDULF_SMTP_TIMEOUT", _parse_timeout, 10.0),
        implicit_tls=use_tls and smtp_port == 465,
    )

    limits = Limits(**{field: read.parse(name, _int_between(1, 1_000_000),
                                         getattr(Limits, field))
                       for name, field in LIMIT_SETTINGS.items()})
    if limits.codes_per_ip >= limits.codes_per_address:
        read.problem("GONDULF_LIMIT_CODES_PER_IP", "must be below GONDULF_LIMIT_CODES_PER_ADDRESS, "
                     "or one network could use up a person's codes")
    if limits.codes_per_address > limits.codes_per_domain:
        read.problem("GONDULF_LIMIT_CODES_PER_DOMAIN", "must be at least "
                     "GONDULF_LIMIT_CODES_PER_ADDRESS")

    settings = Settings(
        secret_key=secret_key,
        base_url=base_url,
        database_path=database_path,
        host=host,
        port=port,
        smtp=smtp,
        dns_nameservers=read.parse("GONDULF_DNS_NAMESERVERS", parse_nameservers, ()),
        dns_timeout=read.parse("GONDULF_DNS_TIMEOUT", _parse_timeout, 5.0),
        code_expiry=read.parse("GONDULF_CODE_EXPIRY", _int_between(30, MAX_CODE_EXPIRY), 600),
        token_expiry=read.parse("GONDULF_TOKEN_EXPIRY", _int_between(60, 366 * 86400), 3600),
        refresh_token_expiry=read.parse("GONDULF_REFRESH_TOKEN_EXPIRY",
                                        _int_between(0, 366 * 86400), 2592000),
        cleanup_interval=read.parse("GONDULF_CLEANUP_INTERVAL", _int_between(10, 86400), 3600),
        allow_no_pkce=read.parse("GONDULF_ALLOW_NO_PKCE", _parse_bool, False),
        trusted_proxies=read.parse("GONDULF_TRUSTED_PROXIES", parse_networks, ()),
        request_timeout=read.parse("GONDULF_REQUEST_TIMEOUT", _parse_timeout, 10.0),
        limits=limits,
        log_level=read.parse("GONDULF_LOG_LEVEL", _choice(LOG_LEVELS, upper=True), "INFO"),
        log_format=read.parse("GONDULF_LOG_FORMAT", _choice(LOG_FORMATS), "text"),
        debug=debug,
    )
    if read.problems:
        raise ConfigError(read.problems)
    return settings
