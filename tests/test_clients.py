"""Fetching client information (IndieAuth §4.2) from real client sites."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from support.dns_server import RunningDns
from support.web_server import Site, redirect

from gondulf.config import Nameserver
from gondulf.services.outside.client_info import (
    ClientInfoService,
    ClientInfoUnavailable,
    cache_seconds,
)
from gondulf.services.outside.dns import DnsService, build_resolver
from gondulf.services.outside.fetch import Fetcher, FetchPolicy
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.store import SQLiteStore


@pytest.fixture
async def clients(dns: RunningDns, db: Database) -> AsyncIterator[ClientInfoService]:
    dns.zone.add_a("app.test")
    resolver = DnsService(build_resolver((Nameserver("127.0.0.1", dns.port),), lifetime=2))
    fetcher = await Fetcher.open(resolver, FetchPolicy.development())
    yield ClientInfoService(fetcher, SQLiteStore(db).clients)
    await fetcher.close()


def serve_json(site: Site, body: Callable[[Site], object]) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps(body(site)), content_type="application/json")

    site.route("/", handler)


async def test_json_metadata_larger_than_5kb_is_refused(
    clients: ClientInfoService, sites: Callable[..., Site]
) -> None:
    site = sites("app.test")
    serve_json(site, lambda s: {"client_id": s.url("/"), "client_name": "x" * 6000})
    await site.start()
    with pytest.raises(ClientInfoUnavailable, match="larger than 5120 bytes"):
        await clients.get(site.url("/"))


async def test_json_metadata_reached_by_redirect_is_refused(
    clients: ClientInfoService, sites: Callable[..., Site]
) -> None:
    site = sites("app.test")
    site.route("/", redirect("/meta.json"))

    async def meta(request: web.Request) -> web.Response:
        return web.json_response({"client_id": site.url("/")})

    site.route("/meta.json", meta)
    await site.start()
    with pytest.raises(ClientInfoUnavailable, match="redirected"):
        await clients.get(site.url("/"))


async def test_json_metadata_with_a_secret_is_refused(
    clients: ClientInfoService, sites: Callable[..., Site]
) -> None:
    site = sites("app.test")
    serve_json(site, lambda s: {"client_id": s.url("/"), "client_secret": "shh"})
    await site.start()
    with pytest.raises(ClientInfoUnavailable, match="client secret"):
        await clients.get(site.url("/"))


async def test_errors_are_not_cached(
    clients: ClientInfoService, sites: Callable[..., Site]
) -> None:
    site = sites("app.test")
    site.route("/", unavailable)
    await site.start()
    for _ in range(2):
        with pytest.raises(ClientInfoUnavailable):
            await clients.get(site.url("/"))
    assert site.hits == ["/", "/"]


async def unavailable(request: web.Request) -> web.Response:
    return web.Response(status=503, text="down", headers={"Cache-Control": "max-age=600"})


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("max-age=600", 600),
        ("public, max-age=60", 60),
        ("max-age=999999", 86400),
        ("no-store", 0),
        ("no-cache, max-age=60", 0),
        ("private, max-age=60", 0),
        ("", 0),
    ],
)
def test_cache_seconds_follow_cache_control(header: str, seconds: int) -> None:
    assert cache_seconds(header) == seconds
