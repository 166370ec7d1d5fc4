"""GET /metrics: the counters in Prometheus's text format (GONDULF_METRICS=true).

Served only when the client address, as gondulf.web.client_address works it out, is a
loopback address or one of GONDULF_TRUSTED_PROXIES: a scraper on this machine or on the
proxy's own host. A request the proxy forwards from the internet names its outside
client in X-Forwarded-For and is refused, although it arrives from the proxy.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client.exposition import choose_encoder

from gondulf.web.client_address import client_ip, local_or_proxy
from gondulf.web.keys import SERVICES, SETTINGS
from gondulf.web.responses import NO_STORE


async def metrics_get(request: web.Request) -> web.Response:
    if not local_or_proxy(client_ip(request), request.app[SETTINGS].trusted_proxies):
        raise web.HTTPForbidden(
            text="Metrics are served only to this machine and to the trusted proxies."
        )
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return web.Response(
        body=encode(request.app[SERVICES].metrics.registry),
        headers={**NO_STORE, "Content-Type": content_type},
    )
