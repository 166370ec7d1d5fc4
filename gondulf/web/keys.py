"""Typed application keys."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from gondulf.config import Settings
from gondulf.services.runtime import Services
from gondulf.web.in_flight import InFlight

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
METADATA_DOCUMENT = web.AppKey("metadata_document", dict[str, Any])
API_PREFIXES = web.AppKey("api_prefixes", tuple[str, ...])
