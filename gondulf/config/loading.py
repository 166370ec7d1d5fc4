"""Loading the settings: the environment over a `.env` file, every problem at once.

Each variable is parsed by its own declaration (gondulf.config.settings);
what remains here are the rules between settings and the development
defaults. Messages name the variable and the fix and never echo a secret.
"""

from __future__ import annotations

import difflib
import os
import secrets
from collections.abc import Collection, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gondulf.config.settings import (
    ALL_CONCERNS,
    SPECS_BY_NAME,
    Concern,
    Settings,
    SettingSpec,
    concern_of,
    walk,
)
from gondulf.errors import ConfigError, ConfigProblem
from gondulf.files import private_folder
from gondulf.indieauth.issuer import is_loopback_host, issuer_for_address

PREFIX = "GONDULF_"
DEV_SECRET_FILE = "dev-secret-key"  # noqa: S105 - a file name
MIN_SECRET_LENGTH = 32


def _dotenv(path: Path) -> dict[str, str | None]:
    """The variables of a `.env` file (python-dotenv, loaded only when there is one).

    Values are taken as written: `${NAME}` in a password is not replaced by a variable.
    """
    from dotenv import dotenv_values

    return dict(dotenv_values(path, interpolate=False))


def read_environment(
    environ: Mapping[str, str] | None = None, env_file: Path | None = Path(".env")
) -> dict[str, str]:
    """`GONDULF_*` variables from the `.env` file, overridden by the environment."""
    merged: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        for key, value in _dotenv(env_file).items():
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
        from_file = {k for k, v in _dotenv(env_file).items() if v is not None}
    source = os.environ if environ is None else environ
    return {
        name: "environment" if name in source else ".env" if name in from_file else "default"
        for name in SPECS_BY_NAME
    }


class _Reader:
    """Parses raw values by their declarations, recording problems instead of stopping."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = raw
        self.problems: list[ConfigProblem] = []

    def problem(self, name: str, message: str) -> None:
        self.problems.append(ConfigProblem(name, message))

    def value(self, spec: SettingSpec) -> Any:
        if spec.name not in self.raw:
            return spec.default
        text = self.raw[spec.name].strip()
        try:
            return spec.parse(text)
        except ValueError as exc:
            if not text:
                self.problem(spec.name, f"is not set; {exc}")
            else:
                shown = "" if spec.secret else f" {text!r}"
                self.problem(spec.name, f"value{shown} is not valid: {exc}")
            return spec.default

    def build(self, cls: type[Any]) -> Any:
        """An instance of a settings dataclass, each declared field parsed."""
        found = {
            name: self.value(item) if isinstance(item, SettingSpec) else self.build(item)
            for name, item in walk(cls)
        }
        return cls(**found)


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
    needs: Collection[Concern] = ALL_CONCERNS,
) -> Settings:
    """Build the settings or raise ConfigError listing every problem.

    `dev` is `gondulf serve --dev`: development mode with nothing configured.
    `overrides` are command-line options, which win over everything.
    `needs` are the concerns the caller uses: problems with other settings are
    not its business (`gondulf check-config` shows them all). A misspelt
    variable is always a problem, since it may be one the caller needs.
    """
    raw = read_environment(environ, env_file)
    raw.update(overrides or {})
    read = _Reader(raw)
    for name in sorted(set(raw) - set(SPECS_BY_NAME)):
        close = difflib.get_close_matches(name, SPECS_BY_NAME, n=1)
        hint = f"did you mean {close[0]}?" if close else "remove it or check the spelling"
        read.problem(name, f"is not a Gondulf setting; {hint}")
    settings: Settings = read.build(Settings)
    settings = _apply_rules(settings, read, dev=dev, needs=needs)
    problems = [
        p
        for p in read.problems
        if p.variable not in SPECS_BY_NAME or concern_of(p.variable) in needs
    ]
    if problems:
        raise ConfigError(problems)
    return settings


def _apply_rules(
    settings: Settings, read: _Reader, *, dev: bool, needs: Collection[Concern]
) -> Settings:
    """The rules between settings, and the development defaults."""
    debug = dev or settings.debug
    if not settings.host.strip():
        read.problem("GONDULF_HOST", "is empty; use an address such as 127.0.0.1 or 0.0.0.0")

    base_url = settings.base_url
    if dev and not base_url:
        base_url = issuer_for_address(settings.host, settings.port)
    if not base_url:
        if "GONDULF_BASE_URL" not in read.raw or not read.raw["GONDULF_BASE_URL"].strip():
            read.problem(
                "GONDULF_BASE_URL",
                "is not set; use the public URL of this server, such as https://auth.example.com/",
            )
        base_url = "http://127.0.0.1/"
    elif (
        base_url.startswith("http:")
        and not debug
        and not is_loopback_host(urlsplit(base_url).hostname or "")
    ):
        read.problem(
            "GONDULF_BASE_URL",
            f"value {base_url!r} is not valid: use https (http is "
            "allowed only with GONDULF_DEBUG=true or a loopback host)",
        )

    secret_key = settings.secret_key
    if dev and not secret_key and Concern.SECRET in needs:  # not made just to list tokens
        secret_key = dev_secret(settings.database_path.parent)
    if not secret_key:
        read.problem(
            "GONDULF_SECRET_KEY",
            f"is not set; set it to a random string of at least "
            f"{MIN_SECRET_LENGTH} characters (python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')",
        )
    elif len(secret_key) < MIN_SECRET_LENGTH:
        read.problem(
            "GONDULF_SECRET_KEY",
            f"is {len(secret_key)} characters long; use at "
            f"least {MIN_SECRET_LENGTH} random characters",
        )

    smtp = settings.smtp
    if not smtp.host and not debug:
        read.problem(
            "GONDULF_SMTP_HOST",
            "is not set; Gondulf cannot email sign-in codes. "
            "Set it to your SMTP server, such as smtp.example.com",
        )
    if bool(smtp.username) != bool(smtp.password):
        missing = "GONDULF_SMTP_PASSWORD" if smtp.username else "GONDULF_SMTP_USERNAME"
        read.problem(
            missing, "is not set while the other SMTP login setting is; set both or neither"
        )
    from_address = smtp.from_address or f"gondulf@{urlsplit(base_url).hostname or 'localhost'}"
    if "\n" in from_address or "\r" in from_address or "@" not in from_address:
        read.problem(
            "GONDULF_SMTP_FROM", "is not an email address; use one such as gondulf@example.com"
        )
    smtp = replace(smtp, from_address=from_address, implicit_tls=smtp.use_tls and smtp.port == 465)

    limits = settings.limits
    if limits.codes_per_ip >= limits.codes_per_address:
        read.problem(
            "GONDULF_LIMIT_CODES_PER_IP",
            "must be below "
            "GONDULF_LIMIT_CODES_PER_ADDRESS, or one network could use up a person's "
            "codes",
        )
    if limits.codes_per_address > limits.codes_per_domain:
        read.problem(
            "GONDULF_LIMIT_CODES_PER_DOMAIN", "must be at least GONDULF_LIMIT_CODES_PER_ADDRESS"
        )
    return replace(
        settings,
        debug=debug,
        base_url=base_url,
        secret_key=secret_key,
        smtp=smtp,
        database_path=settings.database_path.absolute(),  # messages name the real place
    )
