"""The issuer: the server's own URL (IndieAuth §4.1.1, RFC 8414 §2, RFC 9207).

An http(s) URL without query, fragment or credentials whose path ends in
`/`, so that the metadata URL and every endpoint are below it. It must be
https, except in development or on a loopback host.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def is_loopback_host(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_ip_literal(host: str) -> bool:
    """Whether a URL's host is an IP address rather than a name (`[::1]` included)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def normalise_issuer(value: str, *, allow_http: bool) -> str:
    """The issuer in canonical form, or ValueError saying what to change."""
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
    if parts.scheme == "http" and not allow_http and not is_loopback_host(parts.hostname):
        raise ValueError(
            "use https (http is allowed only with GONDULF_DEBUG=true or a loopback host)"
        )
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"{parts.scheme}://{netloc}{path}"


def issuer_for_address(host: str, port: int) -> str:
    """The issuer of a development server listening on `host:port`: `localhost` for a
    loopback or wildcard address, since browsers treat it as a secure context and accept
    it as a passkey's relying party (an IP address is neither)."""
    if host in ("", "0.0.0.0", "::", "::1") or host.startswith("127."):  # noqa: S104
        host = "localhost"
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"
