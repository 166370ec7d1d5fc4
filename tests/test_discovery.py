"""Homepage discovery: rel=me emails, endpoint links (Link header first), the h-card."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from support.dns_server import RunningDns
from support.web_server import Site, html, redirect

from gondulf.config import Nameserver
from gondulf.services.outside.dns import DnsService, build_resolver
from gondulf.services.outside.fetch import BadStatus, Fetcher, FetchPolicy
from gondulf.services.outside.homepage import discover_homepage, mailto_address, parse_homepage

PAGE = """<!doctype html>
<html><head>
<link rel="me" href="mailto:Jane@Jane.TEST">
<link rel="indieauth-metadata" href="https://auth.test/.well-known/oauth-authorization-server">
<link rel="authorization_endpoint" href="https://auth.test/authorize">
<link rel="token_endpoint" href="/token">
</head><body>
<div class="h-card"><a class="u-url p-name" href="/">Jane Doe</a>
<img class="u-photo" src="/jane.jpg" alt="Jane"></div>
<a rel="me" href="mailto:jane.doe@work.test?subject=hi">work</a>
<a rel="me" href="mailto:Jane@jane.test">again</a>
<a rel="me" href="https://social.test/@jane">social</a>
<a rel="me" href="mailto:not-an-address">broken</a>
</body></html>"""


@pytest.fixture
async def fetcher(dns: RunningDns) -> AsyncIterator[Fetcher]:
    resolver = DnsService(build_resolver((Nameserver("127.0.0.1", dns.port),), lifetime=2))
    opened = await Fetcher.open(resolver, FetchPolicy.development())
    yield opened
    await opened.close()


def test_rel_me_mailto_addresses_are_found_once_in_order() -> None:
    page = parse_homepage(PAGE, "https://jane.test/", {})
    assert page.emails == ("Jane@jane.test", "jane.doe@work.test")


def test_endpoints_are_found_and_resolved() -> None:
    page = parse_homepage(PAGE, "https://jane.test/", {})
    assert (
        page.endpoint("indieauth-metadata")
        == "https://auth.test/.well-known/oauth-authorization-server"
    )
    assert page.endpoint("authorization_endpoint") == "https://auth.test/authorize"
    assert page.endpoint("token_endpoint") == "https://jane.test/token"


def test_link_header_wins_over_html() -> None:
    header = {"authorization_endpoint": ["https://other.test/auth"]}
    page = parse_homepage(PAGE, "https://jane.test/", header)
    assert page.endpoint("authorization_endpoint") == "https://other.test/auth"
    assert page.endpoint("token_endpoint") == "https://jane.test/token"


def test_rel_me_mailto_in_link_header_counts() -> None:
    page = parse_homepage(
        "<p>no links</p>", "https://jane.test/", {"me": ["mailto:jane@jane.test"]}
    )
    assert page.emails == ("jane@jane.test",)


def test_representative_hcard() -> None:
    page = parse_homepage(PAGE, "https://jane.test/", {})
    assert page.hcard is not None
    assert page.hcard.name == "Jane Doe"
    assert page.hcard.photo == "https://jane.test/jane.jpg"
    assert page.hcard.url == "https://jane.test/"


def test_hcard_matching_the_page_url_is_preferred() -> None:
    doc = (
        '<div class="h-card"><a class="p-name u-url" href="https://friend.test/">Friend</a>'
        '</div><div class="h-card"><a class="p-name u-url" href="/">Me</a></div>'
    )
    page = parse_homepage(doc, "https://jane.test/", {})
    assert page.hcard is not None and page.hcard.name == "Me"


def test_page_without_anything() -> None:
    page = parse_homepage("<p>hello</p>", "https://jane.test/", {})
    assert (page.emails, page.endpoints, page.hcard) == ((), {}, None)


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("mailto:jane@jane.test", "jane@jane.test"),
        ("MAILTO:jane%40jane.test", "jane@jane.test"),
        ("mailto:jane@jane.test?subject=x", "jane@jane.test"),
        ("mailto:a@b.test,c@d.test", None),
        ("https://jane.test/", None),
        ("mailto:", None),
    ],
)
def test_mailto_address(href: str, expected: str | None) -> None:
    assert mailto_address(href) == expected


async def test_discovery_follows_redirects_and_reads_the_link_header(
    fetcher: Fetcher, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = sites("jane.test")
    site.route("/", redirect("/home"))
    site.route("/home", html(PAGE, headers={"Link": '<https://x.test/t>; rel="token_endpoint"'}))
    await site.start()
    page = await discover_homepage(fetcher, site.url())
    assert page.url == site.url("/home")
    assert page.emails == ("Jane@jane.test", "jane.doe@work.test")
    assert page.endpoint("token_endpoint") == "https://x.test/t"


async def test_discovery_of_a_missing_page_fails(
    fetcher: Fetcher, sites: Callable[..., Site], dns: RunningDns
) -> None:
    dns.zone.add_a("jane.test")
    site = await sites("jane.test").route("/", html("no", status=404)).start()
    with pytest.raises(BadStatus):
        await discover_homepage(fetcher, site.url())
