"""Profile URL and client identifier rules (IndieAuth §3.2, §3.3).

Both are http(s) URLs with a path (none given means `/`), without `.`/`..`
segments, fragment or user:password. A profile URL has no port and a domain
name for host; a client_id may have a port and may be 127.0.0.1 or [::1].
Hosts are canonical everywhere: case-folded, IDNA-encoded (`bücher.example`
is `xn--bcher-kva.example`), without a trailing dot, so one name is one
identity. GONDULF_DEBUG lets profile URLs carry ports, for local testing.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import SplitResult, urlsplit, urlunsplit

import idna

from gondulf.indieauth.errors import InvalidRequest

LOOPBACK_CLIENT_HOSTS = ("127.0.0.1", "::1")
PERMANENT_REDIRECTS = frozenset({301, 308})
MAX_HOST_LENGTH = 253


class InvalidURL(InvalidRequest):
    """A profile URL, client_id or redirect_uri that breaks the identifier rules."""


def _split(value: str, what: str) -> SplitResult:
    if not value:
        raise InvalidURL(f"{what} is missing")
    if any(c.isspace() or ord(c) < 32 for c in value) or len(value) > 2000:
        raise InvalidURL(f"{what} is not a valid URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise InvalidURL(f"{what} is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidURL(f"{what} must be an http or https URL")
    if not parts.hostname:
        raise InvalidURL(f"{what} has no host")
    if parts.fragment or value.endswith("#"):
        raise InvalidURL(f"{what} must not contain a fragment")
    if parts.username is not None or parts.password is not None:
        raise InvalidURL(f"{what} must not contain a user name or password")
    path = normal_path(parts.path)
    segments = path.split("/")
    if "." in segments or ".." in segments:
        raise InvalidURL(f"{what} must not contain . or .. path segments")
    return parts._replace(path=path)


UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
PERCENT_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")


def normal_path(path: str) -> str:
    """RFC 3986 §6.2.2: unreserved characters decoded (`%2e` is `.`, `%7E` is `~`), other
    escapes in upper case, so that one path has one spelling and `/%2e%2e/` is seen as
    the `..` it is to every web server."""

    def one(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in UNRESERVED else f"%{match.group(1).upper()}"

    return PERCENT_ESCAPE.sub(one, path)


def canonical_host(host: str) -> str:
    """A host name as Gondulf keeps it, or InvalidURL: `Bücher.Example.` → `xn--bcher-kva.example`.

    IP addresses are returned in their standard form.
    """
    text = host.strip().strip("[]") if host.startswith("[") else host.strip()
    if _is_ip(text):
        return str(ipaddress.ip_address(text))
    text = text.removesuffix(".")
    if not text or text.startswith(".") or ".." in text:
        raise InvalidURL(f"{host!r} is not a valid host name")
    try:
        encoded = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        raise InvalidURL(f"{host!r} is not a valid host name") from None
    if len(encoded) > MAX_HOST_LENGTH:
        raise InvalidURL(f"{host!r} is not a valid host name")
    return encoded.lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _rebuild(parts: SplitResult) -> str:
    host = canonical_host(parts.hostname or "")
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def canonical_profile_url(value: str, *, debug: bool = False) -> str:
    """The profile URL `me` in canonical form, or InvalidURL."""
    text = value.strip()
    if text and "://" not in text:
        _, colon, rest = text.partition("/")[0].partition(":")
        if colon and not rest.isdigit():
            raise InvalidURL("The website address must be an http or https URL")
        text = f"https://{text}"  # people type their domain; §3.4 adds the scheme
    parts = _split(text, "The website address")
    if "\\" in parts.path or re.search(r"%(2F|5C)", parts.path):
        raise InvalidURL("The website address must not contain encoded slashes")
    if _is_ip(parts.hostname or ""):
        raise InvalidURL("The website address must use a domain name, not an IP address")
    if parts.port is not None and not debug:
        raise InvalidURL("The website address must not contain a port")
    if "." not in canonical_host(parts.hostname or "") and not debug:
        raise InvalidURL("The website address must use a full domain name such as example.com")
    return _rebuild(parts)


def canonical_client_id(value: str) -> str:
    """The client_id in canonical form, or InvalidURL."""
    parts = _split(value.strip(), "client_id")
    host = parts.hostname or ""
    if _is_ip(host) and host not in LOOPBACK_CLIENT_HOSTS:
        raise InvalidURL("client_id must use a domain name (or 127.0.0.1 / [::1])")
    return _rebuild(parts)


def canonical_redirect_uri(value: str) -> str:
    """A redirect_uri: an absolute http(s) URL without fragment, host lowercased."""
    return _rebuild(_split(value.strip(), "redirect_uri"))


def is_loopback_client(client_id: str) -> bool:
    return (urlsplit(client_id).hostname or "") in LOOPBACK_CLIENT_HOSTS


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the default port made explicit."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def domain_of(profile_url: str) -> str:
    """The canonical host of a URL (the domain a profile URL proves)."""
    return canonical_host(urlsplit(profile_url).hostname or "")


def profile_url_after_redirects(typed: str, redirects: Sequence[tuple[int, str]]) -> str:
    """The profile URL once its redirects are followed (IndieAuth §3.3, §4.1).

    `redirects` are (status, location) in the order followed. A permanent
    redirect (301, 308) makes its location the profile URL; from the first
    temporary one on, the URL stays what it was, and the redirected-to page
    is only read for discovery.
    """
    profile = typed
    for status, location in redirects:
        if status not in PERMANENT_REDIRECTS:
            break
        profile = location
    return profile
