"""What a person's homepage says about them (IndieAuth §4.1, rel=me, h-card).

From the fetched `me` page: the `rel="me"` mailto addresses the sign-in code
may go to, the endpoints the page advertises (the HTTP `Link` header wins
over the HTML, as the spec says), and the representative h-card.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

import mf2py

from gondulf.indieauth.urls import domain_of, profile_url_after_redirects
from gondulf.services.outside.email import parse_address
from gondulf.services.outside.fetch import Fetcher, FetchResult, Redirect

ENDPOINT_RELS = ("indieauth-metadata", "authorization_endpoint", "token_endpoint")
MAX_HOMEPAGE_BYTES = 1_000_000


@dataclass(frozen=True)
class HCard:
    name: str | None = None
    photo: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Homepage:
    url: str  # after redirects
    emails: tuple[str, ...]
    endpoints: dict[str, str]  # rel → first URL, for ENDPOINT_RELS found
    hcard: HCard | None
    redirects: tuple[Redirect, ...] = ()  # followed from the URL asked for to `url`

    def endpoint(self, rel: str) -> str | None:
        return self.endpoints.get(rel)

    def profile_url(self, typed: str) -> str:
        """The profile URL `typed` stands for, after its permanent redirects (§3.3)."""
        return profile_url_after_redirects(
            typed, [(redirect.status, redirect.location) for redirect in self.redirects]
        )


def mailto_address(href: str) -> str | None:
    """`mailto:Jane@Example.com?subject=x` → `Jane@example.com`; None when not one address."""
    if not href.lower().startswith("mailto:"):
        return None
    return parse_address(unquote(href[len("mailto:") :].split("?")[0]))


def first_text(values: list[Any]) -> str | None:
    """The first non-empty string of an mf2 property (plain or `{"value": ...}`)."""
    for value in values:
        if isinstance(value, dict):
            value = value.get("value")
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _representative_hcard(items: list[dict[str, Any]], page_url: str) -> HCard | None:
    cards = [item for item in items if "h-card" in item.get("type", [])]
    if not cards:
        return None

    def same_page(card: dict[str, Any]) -> bool:
        props = card.get("properties", {})
        urls = [first_text([u]) for u in props.get("url", []) + props.get("uid", [])]
        return any(u and u.rstrip("/") == page_url.rstrip("/") for u in urls)

    card = next((c for c in cards if same_page(c)), cards[0])
    props = card.get("properties", {})
    return HCard(
        name=first_text(props.get("name", [])),
        photo=first_text(props.get("photo", [])),
        url=first_text(props.get("url", [])),
    )


def parse_homepage(html: str, url: str, header_links: dict[str, list[str]]) -> Homepage:
    """Pure parsing of a fetched page; CPU-bound (mf2py), so callers run it in a thread."""
    parsed = mf2py.parse(doc=html, url=url, metaformats=False)
    rels: dict[str, list[str]] = parsed.get("rels", {})
    emails: list[str] = []
    for href in rels.get("me", []) + header_links.get("me", []):
        address = mailto_address(href)
        if address and address not in emails:
            emails.append(address)
    endpoints = {}
    for rel in ENDPOINT_RELS:
        found = header_links.get(rel) or rels.get(rel)
        if found:
            endpoints[rel] = found[0]
    return Homepage(
        url=url,
        emails=tuple(emails),
        endpoints=endpoints,
        hcard=_representative_hcard(parsed.get("items", []), url),
    )


async def discover_homepage(fetcher: Fetcher, me: str) -> Homepage:
    """Fetch `me` (following redirects) and parse it; FetchError when unreachable."""
    result: FetchResult = await fetcher.get(me, max_bytes=MAX_HOMEPAGE_BYTES)
    homepage = await asyncio.to_thread(parse_homepage, result.text(), result.url, result.links)
    return replace(homepage, redirects=result.redirects)


def same_host(a: str, b: str) -> bool:
    return domain_of(a) == domain_of(b)
