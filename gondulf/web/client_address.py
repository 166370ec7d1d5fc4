"""Who sent a request, and whether it came over https.

The socket's peer is the client, unless the peer is one of the operator's
trusted proxies (GONDULF_TRUSTED_PROXIES): then the chain in
`X-Forwarded-For` (or, without it, `Forwarded`) is walked from the nearest
hop back, and the first address that is not a trusted proxy is the client.
Whether the request came over https is then the nearest proxy's word
(`X-Forwarded-Proto`, or `proto=` in `Forwarded`). Nobody else can claim
either: headers from an untrusted peer are ignored.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass

from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from gondulf.config import Network
from gondulf.web.keys import SETTINGS

Headers = CIMultiDict[str] | CIMultiDictProxy[str]


@dataclass(frozen=True)
class Origin:
    ip: str
    https: bool


ORIGIN_KEY = web.RequestKey("origin", Origin)


def _address(text: str) -> str | None:
    """`203.0.113.9`, `203.0.113.9:443`, `[2001:db8::1]:80`, `"[::1]"` → the address."""
    value = text.strip().strip('"')
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def _ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address, an IPv4-mapped IPv6 one as its IPv4 address; None if it is none."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@functools.lru_cache(maxsize=4096)  # asked at every request about the same few peers
def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    ip = _ip(address)
    return ip is not None and any(ip in network for network in proxies)


def _forwarded_elements(value: str) -> list[dict[str, str]]:
    """RFC 7239: `for=192.0.2.1;proto=https, for="[2001:db8::1]"` → one dict per element."""
    elements = []
    for element in value.split(","):
        if not element.strip():
            continue
        pairs = {}
        for pair in element.split(";"):
            name, _, text = pair.partition("=")
            pairs[name.strip().lower()] = text.strip().strip('"')
        elements.append(pairs)
    return elements


def _joined(headers: Headers, name: str) -> str | None:
    """Every line of a header, in order, as one comma-separated value (RFC 9110 §5.3):
    a proxy may append its own line rather than extend the client's."""
    lines = headers.getall(name, [])
    return ", ".join(lines) if lines else None


def request_origin(
    peer: str, transport_https: bool, headers: Headers, proxies: tuple[Network, ...]
) -> Origin:
    """The client's address and scheme, believing forwarding headers only from proxies."""
    if not proxies or not _trusted(peer, proxies):
        return Origin(peer, transport_https)
    forwarded_for = _joined(headers, "X-Forwarded-For")
    elements = _forwarded_elements(_joined(headers, "Forwarded") or "")
    chain = (
        forwarded_for.split(",")
        if forwarded_for is not None
        else [element.get("for", "") for element in elements if "for" in element]
    )
    client = peer
    for hop in reversed(chain):
        address = _address(hop)
        if address is None:
            break
        client = address
        if not _trusted(address, proxies):
            break
    proto = _joined(headers, "X-Forwarded-Proto")
    if proto is not None:
        scheme = proto.split(",")[-1].strip().lower()
    else:
        scheme = next(
            (e["proto"].lower() for e in reversed(elements) if "proto" in e),
            "https" if transport_https else "http",
        )
    return Origin(client, scheme == "https")


def origin_of(request: web.Request) -> Origin:
    """The request's Origin, worked out once per request."""
    if ORIGIN_KEY in request:
        return request[ORIGIN_KEY]
    origin = request_origin(
        request.remote or "", request.secure, request.headers, request.app[SETTINGS].trusted_proxies
    )
    request[ORIGIN_KEY] = origin
    return origin


def client_ip(request: web.Request) -> str:
    return origin_of(request).ip


def from_trusted_proxy(request: web.Request) -> bool:
    """Whether the socket's peer itself is one of the trusted proxies."""
    return _trusted(request.remote or "", request.app[SETTINGS].trusted_proxies)


def local_or_proxy(address: str, proxies: tuple[Network, ...]) -> bool:
    """A loopback address (IPv4-mapped too) or one of the trusted proxies."""
    ip = _ip(address)
    return ip is not None and (ip.is_loopback or _trusted(address, proxies))
