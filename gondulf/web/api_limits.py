"""The limit on failed API calls per client address (GONDULF_LIMIT_FAILED_API_PER_IP).

Token redemption, verification, introspection, revocation and userinfo are
wrapped: a client address over its limit of failed calls in the window is
answered 429 with Retry-After before anything is checked, and every failed
call that presented a secret (a protocol error, or a revocation of a token
that does not exist) is counted; a call presenting nothing is no guess (an
`<img>` on a hostile page pointing at /userinfo) and is not counted.
Successful calls cost one indexed read and write nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from gondulf.indieauth.errors import OAuthError, TooManyRequests
from gondulf.services.rate_limits import address_key
from gondulf.web.client_address import client_ip
from gondulf.web.credentials import presented
from gondulf.web.keys import SERVICES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
FAILED = web.RequestKey("failed", bool)


def mark_failed(request: web.Request) -> None:
    """Count this call as failed although it answers 200 (RFC 7009 revocation)."""
    request[FAILED] = True


def limit_failures(handler: Handler) -> Handler:
    async def limited(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        limiter = services.limiter
        limit = services.limits.failed_api_per_ip
        key = address_key(client_ip(request))
        refused = await limiter.reached(limit, key)
        if refused is not None:
            services.metrics.refused(limit.name)
            raise TooManyRequests(
                f"more than {limit.count} failed calls from this address in the last hour",
                refused.retry_after,
            )
        try:
            response = await handler(request)
        except OAuthError:
            if presented(request):
                await limiter.count(limit, key)
            raise
        if request.get(FAILED):
            await limiter.count(limit, key)
        return response

    return limited
