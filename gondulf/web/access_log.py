"""Request log lines without query strings, where codes and tokens travel."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

log = logging.getLogger("gondulf.access")


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        log.info(
            '%s "%s %s" %s %.1fms',
            request.remote,
            request.method,
            request.path,
            response.status,
            time * 1000,
        )

    @property
    def enabled(self) -> bool:
        return log.isEnabledFor(logging.INFO)
