"""Fetching who a client is (IndieAuth §4.2): JSON metadata first, then h-app HTML.

Fetched through the guarded fetcher, cached in the database as long as the
client's Cache-Control allows (errors are never cached). A client_id on
127.0.0.1 or [::1] is never fetched.
"""

from __future__ import annotations

import asyncio
import re
import time

import mf2py

from gondulf.errors import GondulfError
from gondulf.indieauth.clients import (
    ClientInfo,
    InvalidClientMetadata,
    parse_client_metadata,
    published_redirect_uris,
)
from gondulf.indieauth.urls import is_loopback_client
from gondulf.services.outside.fetch import Fetcher, FetchError, FetchResult
from gondulf.services.outside.homepage import first_text
from gondulf.storage.repositories import ClientCache

MAX_JSON_BYTES = 5 * 1024
MAX_HTML_BYTES = 512 * 1024
MAX_CACHE_SECONDS = 24 * 3600
ACCEPT = "application/json, text/html;q=0.9, */*;q=0.1"
MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.I)


class ClientInfoUnavailable(GondulfError):
    """The client_id could not be fetched, or what it served breaks the rules."""


def cache_seconds(cache_control: str) -> int:
    """How long Cache-Control lets the information be kept; 0 means not at all."""
    lowered = cache_control.lower()
    if any(word in lowered for word in ("no-store", "no-cache", "private")):
        return 0
    match = MAX_AGE.search(cache_control)
    return min(int(match.group(1)), MAX_CACHE_SECONDS) if match else 0


def parse_client_html(
    html: str, url: str, header_links: dict[str, list[str]], client_id: str
) -> ClientInfo:
    """The h-app / h-x-app and rel=redirect_uri links of an older client's page."""
    parsed = mf2py.parse(doc=html, url=url, metaformats=False)
    app = next(
        (
            item
            for item in parsed.get("items", [])
            if {"h-app", "h-x-app"} & set(item.get("type", []))
        ),
        None,
    )
    props = app.get("properties", {}) if app else {}
    redirects = header_links.get("redirect_uri", []) + parsed.get("rels", {}).get(
        "redirect_uri", []
    )
    logo = first_text(props.get("logo", []) + props.get("photo", []))
    name = first_text(props.get("name", []))
    return ClientInfo(
        client_id=client_id,
        name=name[:200] if name else None,
        logo=logo,
        uri=first_text(props.get("url", [])),
        redirect_uris=published_redirect_uris(redirects),
    )


class ClientInfoService:
    def __init__(self, fetcher: Fetcher, cache: ClientCache) -> None:
        self._fetcher = fetcher
        self._cache = cache

    async def get(self, client_id: str, now: float | None = None) -> ClientInfo | None:
        """The client's information; None for loopback clients; ClientInfoUnavailable."""
        if is_loopback_client(client_id):
            return None
        at = int(time.time() if now is None else now)
        cached = await self._cache.get(client_id, at)
        if cached is not None:
            return cached
        try:
            result = await self._fetcher.get(client_id, accept=ACCEPT, max_bytes=MAX_HTML_BYTES)
        except FetchError as exc:
            raise ClientInfoUnavailable(f"{client_id} could not be fetched: {exc}") from exc
        info = await self._parse(result, client_id)
        keep = cache_seconds(result.headers.get("Cache-Control", ""))
        if keep:
            await self._cache.put(info, at, at + keep)
        return info

    async def _parse(self, result: FetchResult, client_id: str) -> ClientInfo:
        if result.content_type == "application/json" or result.content_type.endswith("+json"):
            if result.redirects:
                raise ClientInfoUnavailable(
                    f"{client_id} redirected; a client metadata "
                    "document must be served at the client_id itself"
                )
            if len(result.body) > MAX_JSON_BYTES:
                raise ClientInfoUnavailable(
                    f"{client_id} serves client metadata larger than {MAX_JSON_BYTES} bytes"
                )
            try:
                return parse_client_metadata(result.body, client_id)
            except InvalidClientMetadata as exc:
                raise ClientInfoUnavailable(
                    f"{client_id} serves invalid client metadata: {exc}"
                ) from exc
        return await asyncio.to_thread(
            parse_client_html, result.text(), result.url, result.links, client_id
        )
