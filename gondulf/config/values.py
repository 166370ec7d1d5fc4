"""Parsers for single setting values: each takes the text of one variable.

Each raises ValueError with the fix ("use a whole number"); the loader puts
the variable's name in front. Rules that involve several settings live in
gondulf.config.loading.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gondulf.indieauth.issuer import normalise_issuer

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Nameserver:
    address: str
    port: int = 53

    def __str__(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return self.address if self.port == 53 else f"{host}:{self.port}"


def text(value: str) -> str:
    return value


def boolean(value: str) -> bool:
    lowered = value.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("use true or false")


def whole_number(low: int, high: int) -> Callable[[str], int]:
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise ValueError("use a whole number") from None
        if not low <= number <= high:
            raise ValueError(f"use a number from {low} to {high}")
        return number

    return parse


def seconds(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("use a number of seconds, such as 10") from None
    if not 0 < number <= 300:
        raise ValueError("use a number of seconds above 0 and at most 300")
    return number


def choice(options: tuple[str, ...], *, upper: bool = False) -> Callable[[str], str]:
    def parse(value: str) -> str:
        normal = value.upper() if upper else value.lower()
        if normal not in options:
            raise ValueError(f"use one of {', '.join(options)}")
        return normal

    return parse


def issuer_syntax(value: str) -> str:
    """The base URL's form; whether http is allowed is a rule of its own (it needs DEBUG)."""
    return normalise_issuer(value, allow_http=True) if value else ""


def database_path(value: str) -> Path:
    prefix = "sqlite:///"
    if not value.startswith(prefix) or len(value) == len(prefix):
        raise ValueError("use sqlite:///relative/path.db or sqlite:////absolute/path.db")
    path = value[len(prefix) :]
    if path == ":memory:":
        raise ValueError("an in-memory database loses every sign-in on restart; use a file")
    return Path(path)


def show_database_path(path: Path) -> str:
    return f"sqlite:///{path}"


def nameservers(value: str) -> tuple[Nameserver, ...]:
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


def networks(value: str) -> tuple[Network, ...]:
    """`127.0.0.1, 10.0.0.0/8, ::1` → networks (an address is a network of one); empty → ()."""
    found = []
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        try:
            found.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(
                f"{item!r} is not an IP address or CIDR network (such as 127.0.0.1 or 10.0.0.0/8)"
            ) from None
    return tuple(found)


def _port_of(item: str, port_text: str) -> int:
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"{item!r} has no valid port (1-65535)")
    return int(port_text)


def show(value: object) -> str:
    """A value as it would be written in .env."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)
