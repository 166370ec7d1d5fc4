"""The guarded fetcher: SSRF on every path and hop, and every limit."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from support.dns_server import RunningDns
from support.web_server import Site, html, redirect

from gondulf.config import Nameserver
from gondulf.services.outside.dns import DnsService, build_resolver
from gondulf.services.outside.fetch import (
    MAX_CONNECTIONS,
    MAX_PER_HOST,
    AddressNotAllowed,
    BadStatus,
    FetchConnectionError,
    Fetcher,
    FetchPolicy,
    FetchTimeout,
    InvalidFetchURL,
    Redirect,
    ResponseTooLarge,
    SchemeNotAllowed,
    TooManyRedirects,
    embedded_ipv4,
    is_public_address,
)

ONLY_127_0_0_1 = ipaddress.ip_address("127.0.0.1")


def only_test_host(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A policy for tests: 127.0.0.1 stands in for the one public host; all else is private."""
    return ip == ONLY_127_0_0_1


FetcherFactory = Callable[..., Awaitable[Fetcher]]


@pytest.fixture
async def fetchers(dns: RunningDns) -> AsyncIterator[FetcherFactory]:
    opened: list[Fetcher] = []
    resolver = DnsService(build_resolver((Nameserver("127.0.0.1", dns.port),), lifetime=2))

    async def make(policy: FetchPolicy, ssl_context: ssl.SSLContext | None = None) -> Fetcher:
        fetcher = await Fetcher.open(resolver, policy, ssl_context=ssl_context)
        opened.append(fetcher)
        return fetcher

    yield make
    for fetcher in opened:
        await fetcher.close()


async def homepage(
    sites: Callable[..., Site], dns: RunningDns, host: str = "jane.test", **kwargs: Any
) -> Site:
    dns.zone.add_a(host, "127.0.0.1")
    return await sites(host, **kwargs).route("/", html("<p>hello</p>")).start()


# -- addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        # IPv4 special-purpose blocks
        "127.0.0.1",
        "10.0.0.1",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "192.0.0.9",
        "192.0.2.1",
        "198.18.0.1",
        "198.51.100.1",
        "203.0.113.1",
        "192.88.99.1",
        "192.31.196.1",
        # IPv6 outside global unicast
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd00::1",
        "fec0::1",
        "ff02::1",
        "100::1",
        # IPv6 forms embedding a private IPv4 address
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",  # IPv4-mapped
        "::7f00:1",
        "::a00:1",
        "::169.254.169.254",  # IPv4-compatible (deprecated)
        "::ffff:0:7f00:1",
        "::ffff:0:a9fe:a9fe",  # IPv4-translated (SIIT)
        "64:ff9b::a00:1",
        "64:ff9b::7f00:1",  # NAT64 well-known prefix
        "64:ff9b:1::a00:1",
        "64:ff9b:1:7f00:1::",  # local-use NAT64 (embedding varies)
        "2002:7f00:1::",
        "2002:a00:1::1",
        "2002:a9fe:a9fe::",  # 6to4
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo (client 127.0.0.1, obfuscated)
        "2001::1",
        "2001:10::1",
        "2001:db8::1",
        "3fff::1",  # IETF, ORCHID, documentation
    ],
)
def test_non_global_addresses_are_refused(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        "93.184.216.34",
        "8.8.8.8",
        "2606:4700::1111",
        "2a00:1450:4001::200e",
        "::ffff:93.184.216.34",
        "64:ff9b::808:808",
        "2002:808:808::1",
    ],
)
def test_global_addresses_are_allowed(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@given(st.ip_addresses(v=4))
def test_every_ipv4_embedding_is_judged_like_the_ipv4_address(ip: ipaddress.IPv4Address) -> None:
    value = int(ip)
    for embedded in (
        int(ipaddress.IPv6Address("::ffff:0:0")) | value,  # mapped
        value,  # compatible
        int(ipaddress.IPv6Address("::ffff:0:0:0")) | value,  # translated
        int(ipaddress.IPv6Address("64:ff9b::")) | value,  # NAT64
        int(ipaddress.IPv6Address("2002::")) | (value << 80),
    ):  # 6to4
        assert is_public_address(ipaddress.IPv6Address(embedded)) == is_public_address(ip)


@given(st.ip_addresses(v=6))
def test_an_allowed_ipv6_address_is_global_unicast_or_embeds_a_public_ipv4(
    ip: ipaddress.IPv6Address,
) -> None:
    if is_public_address(ip):
        embedded = embedded_ipv4(ip)
        assert ip in ipaddress.ip_network("2000::/3") or (
            embedded is not None and is_public_address(embedded)
        )


# -- SSRF paths -----------------------------------------------------------------------------


async def test_name_resolving_to_loopback_is_refused(
    fetchers: FetcherFactory,
    sites: Callable[..., Site],
    dns: RunningDns,
    client_tls: ssl.SSLContext,
    server_tls: ssl.SSLContext,
) -> None:
    site = await homepage(sites, dns, ssl_context=server_tls)
    fetcher = await fetchers(FetchPolicy.production(), client_tls)
    with pytest.raises(AddressNotAllowed, match="not a public address"):
        await fetcher.get(site.url())
    assert site.hits == []


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "0.0.0.0", "[::ffff:7f00:1]"]
)
async def test_ip_literal_hosts_are_refused(
    fetchers: FetcherFactory, sites: Callable[..., Site], host: str
) -> None:
    site = await sites().route("/", html("secret")).start()
    fetcher = await fetchers(FetchPolicy(allow_http=True))
    with pytest.raises(AddressNotAllowed):
        await fetcher.get(f"http://{host}:{site.port}/")
    assert site.hits == []


async def test_redirect_to_a_private_ip_literal_is_refused(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = sites("jane.test")
    site.route("/", redirect("/hop")).route("/hop", redirect("http://127.0.0.2:1/admin"))
    await site.start()
    fetcher = await fetchers(FetchPolicy(allow_http=True, address_allowed=only_test_host))
    with pytest.raises(AddressNotAllowed, match="127.0.0.2"):
        await fetcher.get(site.url())
    assert site.hits == ["/", "/hop"]


async def test_redirect_to_a_name_resolving_to_a_private_address_is_refused(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    dns.zone.add_a("internal.test", "127.0.0.2")
    site = sites("jane.test")
    await site.route("/", redirect("http://internal.test:1/")).start()
    fetcher = await fetchers(FetchPolicy(allow_http=True, address_allowed=only_test_host))
    with pytest.raises(AddressNotAllowed, match="internal.test"):
        await fetcher.get(site.url())


async def test_a_name_with_any_private_address_is_refused(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    site = await homepage(sites, dns)
    dns.zone.add_a("jane.test", "127.0.0.2")  # a second, private address
    fetcher = await fetchers(FetchPolicy(allow_http=True, address_allowed=only_test_host))
    with pytest.raises(AddressNotAllowed):
        await fetcher.get(site.url())
    assert site.hits == []


async def test_localhost_is_loopback_without_asking_dns(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    site = await sites("localhost").route("/", html("x")).start()
    fetcher = await fetchers(FetchPolicy(allow_http=True))
    with pytest.raises(AddressNotAllowed):
        await fetcher.get(site.url())
    assert dns.zone.queries == []


@pytest.mark.parametrize(
    "url", ["http://jane.test/", "ftp://jane.test/", "file:///etc/passwd", "javascript:alert(1)"]
)
async def test_production_fetches_only_https(fetchers: FetcherFactory, url: str) -> None:
    fetcher = await fetchers(FetchPolicy.production())
    with pytest.raises(SchemeNotAllowed):
        await fetcher.get(url)


async def test_https_redirect_to_http_is_refused_in_production(
    fetchers: FetcherFactory,
    sites: Callable[..., Site],
    dns: RunningDns,
    client_tls: ssl.SSLContext,
    server_tls: ssl.SSLContext,
) -> None:
    dns.zone.add_a("jane.test")
    site = sites("jane.test", ssl_context=server_tls)
    await site.route("/", redirect("http://jane.test/")).start()
    fetcher = await fetchers(FetchPolicy(address_allowed=only_test_host), client_tls)
    with pytest.raises(SchemeNotAllowed):
        await fetcher.get(site.url())


async def test_https_fetch_verifies_the_certificate(
    fetchers: FetcherFactory,
    sites: Callable[..., Site],
    dns: RunningDns,
    client_tls: ssl.SSLContext,
    server_tls: ssl.SSLContext,
) -> None:
    site = await homepage(sites, dns, ssl_context=server_tls)
    trusting = await fetchers(FetchPolicy(address_allowed=only_test_host), client_tls)
    result = await trusting.get(site.url())
    assert result.status == 200 and result.text() == "<p>hello</p>"
    untrusting = await fetchers(FetchPolicy(address_allowed=only_test_host))
    with pytest.raises(FetchConnectionError, match="certificate"):
        await untrusting.get(site.url())


@pytest.mark.parametrize(
    "url", ["https://user:pw@jane.test/", "/relative", "https:///nohost", "http://[::1"]
)
async def test_malformed_urls_are_refused(fetchers: FetcherFactory, url: str) -> None:
    fetcher = await fetchers(FetchPolicy.development())
    with pytest.raises(InvalidFetchURL):
        await fetcher.get(url)


# -- development mode -----------------------------------------------------------------------


async def test_development_mode_fetches_loopback_and_follows_redirects(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = sites("jane.test")
    site.route("/", redirect("/home", 301)).route("/home", html("<p>home</p>"))
    await site.start()
    fetcher = await fetchers(FetchPolicy.development())
    result = await fetcher.get(site.url())
    assert result.url == site.url("/home")
    assert result.redirects == (Redirect(301, site.url("/home")),)
    assert result.content_type == "text/html"


# -- limits ---------------------------------------------------------------------------------


async def test_redirect_limit(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", redirect("/")).start()
    fetcher = await fetchers(FetchPolicy.development(max_redirects=3))
    with pytest.raises(TooManyRedirects, match="more than 3 times"):
        await fetcher.get(site.url())
    assert len(site.hits) == 4


async def test_redirects_are_not_followed_when_asked(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", redirect("/elsewhere")).start()
    fetcher = await fetchers(FetchPolicy.development())
    with pytest.raises(BadStatus) as caught:
        await fetcher.get(site.url(), follow_redirects=False)
    assert caught.value.status == 302
    result = await fetcher.get(site.url(), follow_redirects=False, require_ok=False)
    assert result.status == 302 and site.hits == ["/", "/"]


async def test_declared_size_over_the_limit_is_refused(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", html("x" * 5000)).start()
    fetcher = await fetchers(FetchPolicy.development())
    with pytest.raises(ResponseTooLarge, match="5000 bytes"):
        await fetcher.get(site.url(), max_bytes=4096)
    assert (await fetcher.get(site.url(), max_bytes=5000)).body == b"x" * 5000


async def test_streamed_body_over_the_limit_is_refused(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"y" * 10_000)
        return response

    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", endless).start()
    fetcher = await fetchers(FetchPolicy.development(max_bytes=50_000))
    with pytest.raises(ResponseTooLarge, match="larger than 50000"):
        await fetcher.get(site.url())


async def test_compressed_bomb_is_limited_after_decompression(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    bomb = gzip.compress(b"\0" * 2_000_000)

    async def handler(request: web.Request) -> web.Response:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"}
        )

    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", handler).start()
    fetcher = await fetchers(FetchPolicy.development(max_bytes=100_000))
    assert len(bomb) < 100_000
    with pytest.raises(ResponseTooLarge):
        await fetcher.get(site.url())


async def test_slow_server_times_out(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="late")

    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", slow).start()
    fetcher = await fetchers(FetchPolicy.development(timeout=0.3))
    with pytest.raises(FetchTimeout, match="within 0.3 s"):
        await fetcher.get(site.url())


async def test_refused_connection_is_a_connection_error(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", html("x")).start()
    url = site.url()
    await site.stop()
    fetcher = await fetchers(FetchPolicy.development())
    with pytest.raises(FetchConnectionError, match="cannot connect to jane.test"):
        await fetcher.get(url)


async def test_unknown_name_is_a_connection_error(fetchers: FetcherFactory) -> None:
    fetcher = await fetchers(FetchPolicy.development())
    with pytest.raises(FetchConnectionError, match="absent.test"):
        await fetcher.get("http://absent.test/")


async def test_error_status_is_reported(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", html("gone", status=410)).start()
    fetcher = await fetchers(FetchPolicy.development())
    with pytest.raises(BadStatus, match="HTTP 410"):
        await fetcher.get(site.url())


async def test_link_headers_are_parsed_by_rel(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    links = (
        '</meta>; rel="indieauth-metadata", <https://a.test/auth>; rel="authorization_endpoint me"'
    )
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", html("x", headers={"Link": links})).start()
    result = await (await fetchers(FetchPolicy.development())).get(site.url())
    assert result.links["indieauth-metadata"] == [site.url("/meta")]
    assert result.links["authorization_endpoint"] == ["https://a.test/auth"]
    assert result.links["me"] == ["https://a.test/auth"]


async def test_declared_charset_is_used(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    async def latin(request: web.Request) -> web.Response:
        return web.Response(
            body="café".encode("latin-1"), headers={"Content-Type": "text/html; charset=ISO-8859-1"}
        )

    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", latin).start()
    result = await (await fetchers(FetchPolicy.development())).get(site.url())
    assert result.text() == "café"


async def test_a_slow_host_holds_only_its_own_few_slots(
    fetchers: FetcherFactory, sites: Callable[..., Site], dns: RunningDns
) -> None:
    """Many sign-ins stuck on one hostile site never delay a fetch of another site."""
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="late", content_type="text/html")

    dns.zone.add_a("slow.test")
    slow = await sites("slow.test").route("/", stuck).start()
    fast = await homepage(sites, dns, "fast.test")
    fetcher = await fetchers(FetchPolicy.development(timeout=20))
    stuck_fetches = [asyncio.create_task(fetcher.get(slow.url())) for _ in range(MAX_CONNECTIONS)]
    try:
        while len(slow.hits) < MAX_PER_HOST:
            await asyncio.sleep(0.01)
        result = await asyncio.wait_for(fetcher.get(fast.url()), 5)
        assert result.status == 200
        assert len(slow.hits) == MAX_PER_HOST  # the rest wait for the slow site's slots
    finally:
        release.set()
        await asyncio.gather(*stuck_fetches)
