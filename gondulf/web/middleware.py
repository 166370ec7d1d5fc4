"""What every request goes through: its id, counting and timing, error rendering, https,
and the headers every response carries."""

from __future__ import annotations

import logging
import sqlite3
import time

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gondulf.errors import DatabaseBusy
from gondulf.indieauth.endpoints import METADATA_REL, metadata_url
from gondulf.indieauth.errors import OAuthError
from gondulf.logs import REQUEST_ID
from gondulf.services.metrics import UNMATCHED, Metrics
from gondulf.services.signin.problems import SignInProblem
from gondulf.web.client_address import origin_of
from gondulf.web.keys import SETTINGS
from gondulf.web.request_ids import HEADER, choose_request_id, new_request_id
from gondulf.web.responses import error_response, oauth_error_response, problem_page

log = logging.getLogger("gondulf.web")
BUSY_RETRY_AFTER = 2

TITLES = {
    400: "Bad request",
    403: "Forbidden",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
}


def observed(metrics: Metrics | None) -> Middleware:
    """The outermost middleware: the request's id and, when metrics are served, its count
    and time by route name and final status (nobody reads them otherwise).

    aiohttp answers each request in a task of its own, with its own copy of the context,
    so the id set here (gondulf.logs.REQUEST_ID) stays with this request: on every line
    logged while it is handled, on its response (security_headers) and on its access log
    line, and on no other request's.
    """

    def begin(request: web.Request) -> None:
        REQUEST_ID.set(choose_request_id(request))
        origin_of(request)  # the client, for the access log line

    @web.middleware
    async def identify(request: web.Request, handler: Handler) -> web.StreamResponse:
        begin(request)
        return await handler(request)

    if metrics is None:
        return identify

    def answered(request: web.Request, status: int, started: float) -> None:
        resource = request.match_info.route.resource
        route = (resource.name if resource is not None else None) or UNMATCHED
        metrics.request_answered(route, request.method, status, time.perf_counter() - started)

    @web.middleware
    async def observe(request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        begin(request)
        try:
            response = await handler(request)
        except web.HTTPException as exc:  # redirects: `errors` renders every other status
            answered(request, exc.status, started)
            raise
        answered(request, response.status, started)
        return response

    return observe


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every HTTP error and unexpected exception into a rendered answer."""
    try:
        return await handler(request)
    except OAuthError as exc:
        return oauth_error_response(exc)
    except SignInProblem as problem:
        return problem_page(request, problem)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        detail = (
            exc.text
            if exc.text and not exc.text.startswith(f"{exc.status}:")
            else ("There is no page at this address." if exc.status == 404 else exc.reason)
        )
        response = error_response(request, exc.status, TITLES.get(exc.status, exc.reason), detail)
        for name in ("Allow", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except (DatabaseBusy, sqlite3.OperationalError) as exc:  # locked, or out of disk
        log.error("database unavailable for %s %s: %s", request.method, request.path, exc)
        response = error_response(
            request,
            503,
            "Too busy right now",
            "The server could not reach its database in time. Try again in a moment.",
        )
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(
            request,
            500,
            "Something went wrong",
            "The server failed to answer this request. It has been logged.",
        )


def https_only(issuer: str, probe_paths: frozenset[str]) -> Middleware:
    """Production: a request that did not arrive over https goes there, probes excepted.

    "Arrived over https" is the transport's own, or a trusted proxy's
    X-Forwarded-Proto (gondulf.web.client_address). The redirect goes to the
    issuer's host, never to a Host header a client chose. Load balancers and
    containers probe `probe_paths` over plain HTTP.
    """
    base = issuer.rstrip("/")

    @web.middleware
    async def redirect_plain_http(request: web.Request, handler: Handler) -> web.StreamResponse:
        if origin_of(request).https or request.path in probe_paths:
            return await handler(request)
        if request.method in ("GET", "HEAD"):
            raise web.HTTPMovedPermanently(base + request.path_qs)
        raise web.HTTPForbidden(text=f"This server accepts only https: use {issuer}")

    return redirect_plain_http


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers["Server"] = "Gondulf"
    headers[HEADER] = REQUEST_ID.get() or new_request_id()  # aiohttp's own 400s have none
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
        "img-src 'self' https: data:; "
        "frame-ancestors 'none'; base-uri 'none'",
    )
    settings = request.app[SETTINGS]
    if not settings.debug:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if response.content_type == "text/html":
        metadata = metadata_url(settings.issuer)
        headers.setdefault("Link", f'<{metadata}>; rel="{METADATA_REL}"')
