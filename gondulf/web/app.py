"""The application factory: the one place the server is wired together."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Middleware

from gondulf.config import Settings
from gondulf.indieauth.endpoints import METADATA_PATH
from gondulf.services.housekeeping import purge_forever
from gondulf.services.runtime import open_services
from gondulf.web import (
    authorize,
    grants,
    handlers,
    metadata,
    redemption,
    revocation,
    userinfo,
    verification,
)
from gondulf.web.api_limits import limit_failures
from gondulf.web.in_flight import InFlight
from gondulf.web.keys import IN_FLIGHT, SERVICES, SETTINGS
from gondulf.web.middleware import errors, https_only, security_headers

STATIC_DIR = Path(__file__).parent / "static"
MAX_REQUEST_BYTES = 64 * 1024


def create_app(
    settings: Settings, *, client_ssl_context: ssl.SSLContext | None = None
) -> web.Application:
    """The server for `settings`; `client_ssl_context` sets the CAs trusted for outgoing TLS."""
    middlewares: list[Middleware] = [errors]
    if not settings.debug and settings.issuer.startswith("https:"):
        middlewares.append(https_only(settings.issuer))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings
    app[IN_FLIGHT] = InFlight()

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_services(
            settings, migrate=True, hold_lock=True, client_ssl_context=client_ssl_context
        ) as services:
            app[SERVICES] = services
            yield

    async def housekeeping_ctx(app: web.Application) -> AsyncIterator[None]:
        task = asyncio.create_task(purge_forever(app[SERVICES].store, settings.cleanup_interval))
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    app.cleanup_ctx.append(services_ctx)
    app.cleanup_ctx.append(housekeeping_ctx)
    app.on_response_prepare.append(security_headers)
    app.router.add_get("/", handlers.home)
    app.router.add_get("/health", handlers.health)
    app.router.add_get(f"/{METADATA_PATH}", metadata.metadata)
    app.router.add_get("/authorize", authorize.authorize_get)
    app.router.add_post("/authorize", limit_failures(redemption.authorization_code_post))
    app.router.add_get("/authorize/website", authorize.website_get)
    app.router.add_get("/authorize/grants", authorize.grants_sign_in)
    app.router.add_post("/authorize/website", authorize.website_post)
    app.router.add_post("/authorize/email", authorize.email_post)
    app.router.add_post("/authorize/code", authorize.code_post)
    app.router.add_post("/authorize/resend", authorize.resend_post)
    app.router.add_post("/authorize/consent", authorize.consent_post)
    app.router.add_get("/token", limit_failures(verification.token_get))
    app.router.add_post("/token", limit_failures(redemption.token_post))
    app.router.add_post("/introspect", limit_failures(verification.introspect))
    app.router.add_post("/revoke", limit_failures(revocation.revoke))
    app.router.add_get("/userinfo", limit_failures(userinfo.userinfo))
    app.router.add_get("/grants", grants.grants_get)
    app.router.add_post("/grants/revoke", grants.revoke_post)
    app.router.add_post("/grants/signout", grants.signout_post)
    app.router.add_static("/static/", STATIC_DIR, append_version=True)
    return app
