"""Typed application keys."""

from __future__ import annotations

from aiohttp import web

from gondulf.config import Settings
from gondulf.services.runtime import Services
from gondulf.web.in_flight import InFlight

SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
