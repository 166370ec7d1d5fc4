"""The application factory: the one place the server is wired together."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from gondulf.config import Settings
from gondulf.services.runtime import open_services
from gondulf.web import handlers
from gondulf.web.keys import SERVICES, SETTINGS
from gondulf.web.middleware import errors, security_headers

STATIC_DIR = Path(__file__).parent / "static"
MAX_REQUEST_BYTES = 64 * 1024


def create_app(settings: Settings, *, client_ssl_context: ssl.SSLContext | None = None
               ) -> web.Application:
    """The server for `settings`; `client_ssl_context` sets the CAs trusted for outgoing TLS."""
    app = web.Application(middlewares=[errors], client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        async with open_services(settings, migrate=True,
                                 client_ssl_context=client_ssl_context) as services:
            app[SERVICES] = services
            yield

    app.cleanup_ctx.append(services_ctx)
    app.on_response_prepare.append(security_headers)
    app.router.add_get("/", handlers.home)
    app.router.add_get("/health", handlers.health)
    app.router.add_static("/static/", STATIC_DIR, append_version=True)
    return app
