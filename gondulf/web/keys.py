"""Typed application keys."""

from __future__ import annotations

import ssl

from aiohttp import web

from gondulf.config import Settings
from gondulf.services.runtime import Services

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
CLIENT_SSL_CONTEXT = web.AppKey("client_ssl_context", ssl.SSLContext)
