"""The one HTTP fetcher for everything fetched on a person's or client's behalf.

Homepages and client_id pages are URLs chosen by strangers, so every request
is guarded against server-side request forgery: only https (and http in
development mode), and only public addresses, checked for IP-literal hosts
before each hop and for names in the resolver the connector dials through
(so a DNS answer cannot be swapped between the check and the connection).
Redirects are followed by hand, each hop checked again. Time, redirects and
body size are bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import dns.exception
import dns.resolver
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from gondulf import __version__
from gondulf.errors import GondulfError
from gondulf.services.outside.dns import DnsService

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_PER_HOST = 4  # requests (and connections) to one remote host at a time
MAX_CONNECTIONS = 100
LOCALHOST_ADDRESSES = ("127.0.0.1", "::1")


class FetchError(GondulfError):
    """A fetch that did not produce a usable response."""


class InvalidFetchURL(FetchError):
    pass


class SchemeNotAllowed(FetchError):
    pass


class AddressNotAllowed(FetchError, OSError):
    """The host is or resolves to an address that must not be fetched."""


class TooManyRedirects(FetchError):
    pass


class ResponseTooLarge(FetchError):
    pass


class FetchTimeout(FetchError):
    pass


class FetchConnectionError(FetchError):
    pass


class BadStatus(FetchError):
    def __init__(self, url: str, status: int) -> None:
        super().__init__(f"{url} answered HTTP {status}")
        self.status = status


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(text)


# IPv4 special-purpose blocks (IANA registry): never a public web site.
IPV4_SPECIAL = tuple(
    _network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.31.196.0/24",
        "192.52.193.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "192.175.48.0/24",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
IPV6_GLOBAL_UNICAST = _network("2000::/3")
IPV6_DOCUMENTATION = (_network("2001:db8::/32"), _network("3fff::/20"))
# IPv6 forms that carry an IPv4 address in their last 32 bits: judged by that address.
IPV6_WITH_IPV4_LAST = tuple(
    _network(n)
    for n in (
        "::ffff:0:0/96",  # IPv4-mapped
        "::/96",  # IPv4-compatible (deprecated), which holds :: and ::1 too
        "::ffff:0:0:0/96",  # IPv4-translated (SIIT)
        "64:ff9b::/96",  # NAT64, well-known prefix
    )
)
SIX_TO_FOUR = _network("2002::/16")  # the IPv4 address in bits 16-47


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, in every form that embeds one."""
    if any(ip in network for network in IPV6_WITH_IPV4_LAST):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in SIX_TO_FOUR:
        return ipaddress.IPv4Address((int(ip) >> 80) & 0xFFFFFFFF)
    return None


def is_public_address(ip: IPAddress) -> bool:
    """An allow-list: public IPv4 unicast, or global IPv6 unicast (2000::/3).

    An IPv6 address that embeds an IPv4 address is judged by that address;
    every other IPv6 form outside 2000::/3 (local-use NAT64, Teredo's
    2001::/32 and the rest of 2001::/23, documentation prefixes) is refused.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return ip.is_global and not any(ip in network for network in IPV4_SPECIAL)
    embedded = embedded_ipv4(ip)
    if embedded is not None:
        return is_public_address(embedded)
    return (
        ip in IPV6_GLOBAL_UNICAST
        and ip.is_global
        and ip.scope_id is None
        and not any(ip in network for network in IPV6_DOCUMENTATION)
    )


def any_address(ip: IPAddress) -> bool:
    return True


@dataclass(frozen=True)
class FetchPolicy:
    allow_http: bool = False
    address_allowed: Callable[[IPAddress], bool] = is_public_address
    max_bytes: int = 1_000_000
    max_redirects: int = 5
    timeout: float = 10.0

    @classmethod
    def production(cls, **limits: Any) -> FetchPolicy:
        return cls(allow_http=False, address_allowed=is_public_address, **limits)

    @classmethod
    def development(cls, **limits: Any) -> FetchPolicy:
        """GONDULF_DEBUG: http and loopback/private addresses are allowed."""
        return cls(allow_http=True, address_allowed=any_address, **limits)

    def check_address(self, host: str, address: str) -> None:
        if not self.address_allowed(ipaddress.ip_address(address.split("%")[0])):
            raise AddressNotAllowed(
                f"{host} is not a public address ({address}); Gondulf only fetches public web sites"
            )


@dataclass(frozen=True)
class Redirect:
    status: int  # 301, 302, 303, 307 or 308
    location: str  # the absolute URL it sent the request to


@dataclass(frozen=True)
class FetchResult:
    url: str  # after redirects
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    links: dict[str, list[str]] = field(default_factory=dict)  # HTTP Link header, by rel
    redirects: tuple[Redirect, ...] = ()  # in the order they were followed

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str:
        for part in self.headers.get("Content-Type", "").split(";")[1:]:
            name, _, value = part.strip().partition("=")
            if name.lower() == "charset" and value:
                return value.strip('"')
        return "utf-8"

    def text(self) -> str:
        try:
            return self.body.decode(self.charset, errors="replace")
        except LookupError:
            return self.body.decode("utf-8", errors="replace")


class GuardedResolver(AbstractResolver):
    """Resolves through Gondulf's resolver and refuses non-allowed addresses."""

    def __init__(self, dns_service: DnsService, policy: FetchPolicy) -> None:
        self._dns = dns_service
        self._policy = policy

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            addresses = list(LOCALHOST_ADDRESSES)  # RFC 6761: always loopback
        else:
            try:
                addresses = await self._dns.addresses(host)
            except dns.exception.DNSException as exc:
                raise OSError(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise OSError(f"{host} has no address")
        for address in addresses:
            self._policy.check_address(host, address)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in addresses
            if family in (socket.AF_UNSPEC, socket.AF_INET6 if ":" in address else socket.AF_INET)
        ]

    async def close(self) -> None:
        return None


class HostSlots:
    """At most `per_host` requests to one host at a time, whatever the others do.

    A slow or hostile site can then hold only its own few slots (and
    connections): it delays the sign-ins that fetch it, never anyone else's.
    """

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._slots: dict[str, tuple[asyncio.Semaphore, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, host: str) -> AsyncIterator[None]:
        semaphore, users = self._slots.get(host, (asyncio.Semaphore(self._per_host), 0))
        self._slots[host] = (semaphore, users + 1)
        try:
            async with semaphore:
                yield
        finally:
            semaphore, users = self._slots[host]
            if users == 1:
                del self._slots[host]
            else:
                self._slots[host] = (semaphore, users - 1)


class Fetcher:
    """Open with `await Fetcher.open(...)`, close with `await fetcher.close()`."""

    def __init__(self, session: aiohttp.ClientSession, policy: FetchPolicy) -> None:
        self._session = session
        self._hosts = HostSlots(MAX_PER_HOST)
        self.policy = policy

    @classmethod
    async def open(
        cls,
        dns_service: DnsService,
        policy: FetchPolicy,
        *,
        ssl_context: ssl.SSLContext | None = None,
        user_agent: str = f"Gondulf/{__version__} (IndieAuth server)",
    ) -> Fetcher:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(dns_service, policy),
            use_dns_cache=False,
            ssl=ssl_context if ssl_context is not None else True,
            limit=MAX_CONNECTIONS,
            limit_per_host=MAX_PER_HOST,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            trust_env=False,
            headers={"User-Agent": user_agent},
            cookie_jar=aiohttp.DummyCookieJar(),
            max_line_size=8190,
            max_field_size=8190,
        )
        return cls(session, policy)

    async def close(self) -> None:
        await self._session.close()

    def check_url(self, url: URL) -> None:
        """Refuse a URL before connecting: scheme, credentials and IP-literal hosts."""
        allowed = ("https", "http") if self.policy.allow_http else ("https",)
        if not url.scheme:
            raise InvalidFetchURL(f"{url} is not an absolute URL")
        if url.scheme not in allowed:
            raise SchemeNotAllowed(f"{url} is not an {' or '.join(allowed)} URL")
        if not url.host:
            raise InvalidFetchURL(f"{url} has no host")
        if url.user or url.password:
            raise InvalidFetchURL(f"{url} carries a user name or password")
        try:
            ipaddress.ip_address(url.host.split("%")[0])
        except ValueError:
            return  # a name: checked by the resolver when connecting
        self.policy.check_address(url.host, url.host)

    async def get(
        self,
        url: str,
        *,
        accept: str = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1",
        max_bytes: int | None = None,
        follow_redirects: bool = True,
        require_ok: bool = True,
    ) -> FetchResult:
        """GET `url` within the policy's limits; raises a FetchError subclass on failure."""
        try:
            current = URL(url)
        except (ValueError, TypeError) as exc:
            raise InvalidFetchURL(f"{url!r} is not a URL") from exc
        limit = self.policy.max_bytes if max_bytes is None else max_bytes
        try:
            async with asyncio.timeout(self.policy.timeout):
                result = await self._follow(current, accept, limit, follow_redirects)
        except TimeoutError as exc:
            raise FetchTimeout(f"{url} did not answer within {self.policy.timeout:g} s") from exc
        if require_ok and result.status != 200:
            raise BadStatus(result.url, result.status)
        return result

    async def _follow(
        self, current: URL, accept: str, limit: int, follow_redirects: bool
    ) -> FetchResult:
        history: list[Redirect] = []
        first = current
        while True:
            self.check_url(current)
            async with (
                self._hosts.hold(current.host or ""),
                await self._request(current, accept) as response,
            ):
                location = response.headers.get("Location")
                if follow_redirects and response.status in REDIRECT_STATUSES and location:
                    if len(history) >= self.policy.max_redirects:
                        raise TooManyRedirects(
                            f"{first} redirected more than {self.policy.max_redirects} times"
                        )
                    try:
                        target = current.join(URL(location))
                    except ValueError as exc:
                        raise InvalidFetchURL(f"{current} redirected to {location!r}") from exc
                    history.append(Redirect(response.status, str(target)))
                    current = target
                    continue
                body = await _read_limited(response, limit)
                return FetchResult(
                    url=str(response.url),
                    status=response.status,
                    headers=CIMultiDictProxy(CIMultiDict(response.headers)),
                    body=body,
                    links=_links_by_rel(response),
                    redirects=tuple(history),
                )

    async def _request(self, url: URL, accept: str) -> aiohttp.ClientResponse:
        try:
            return await self._session.get(
                url, allow_redirects=False, headers={"Accept": accept}, raise_for_status=False
            )
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, AddressNotAllowed):
                raise exc.os_error from None
            raise FetchConnectionError(
                f"cannot connect to {url.host}: {exc.os_error or exc}"
            ) from exc
        except aiohttp.ClientError as exc:
            raise FetchConnectionError(f"{url} failed: {exc}") from exc


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > limit:
        raise ResponseTooLarge(f"{response.url} is {declared} bytes; the limit is {limit}")
    chunks, total = [], 0
    try:
        async for chunk in response.content.iter_chunked(16384):
            total += len(chunk)
            if total > limit:
                raise ResponseTooLarge(f"{response.url} is larger than {limit} bytes")
            chunks.append(chunk)
    except aiohttp.ClientError as exc:
        raise FetchConnectionError(f"{response.url} failed while reading: {exc}") from exc
    return b"".join(chunks)


def _links_by_rel(response: aiohttp.ClientResponse) -> dict[str, list[str]]:
    """HTTP `Link` header values by each of their space-separated rel values."""
    links: dict[str, list[str]] = {}
    try:
        parsed = response.links
    except ValueError:
        return links
    for key, params in parsed.items():
        rels = str(params.get("rel", "")).split()
        target = params.get("url")
        if target is None:
            continue
        for rel in rels or [str(key)]:
            links.setdefault(rel.lower(), []).append(str(target))
    return links
