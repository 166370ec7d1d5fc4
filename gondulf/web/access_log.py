"""Request log lines naming the client, without query strings, where codes and tokens travel."""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gondulf.web.client_address import ORIGIN_KEY

log = logging.getLogger("gondulf.access")


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        log.info(
            '%s "%s %s" %s %.1fms',
            client_of(request),
            request.method,
            request.path,
            response.status,
            time * 1000,
        )

    @property
    def enabled(self) -> bool:
        return log.isEnabledFor(logging.INFO)


def client_of(request: web.BaseRequest) -> str | None:
    """The client a trusted proxy named (gondulf.web.client_address), else the socket's peer:
    a request refused before the application saw it (a malformed one) has no Origin."""
    origin = request.get(ORIGIN_KEY)
    return request.remote if origin is None else origin.ip
