"""Request log lines without query strings, where codes and tokens travel.

One line a request: the client (as resolved through the trusted proxies), method, path,
status and time, with the request's id. JSON lines carry them as fields of their own
(gondulf.logs.ACCESS_FIELDS), with the size of the body sent and the User-Agent.
"""

from __future__ import annotations

import logging

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from gondulf.logs import FIELDS
from gondulf.web.client_address import ORIGIN_KEY

log = logging.getLogger("gondulf.access")


class AccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        # The middleware worked the client out (and set the request's id, which the log
        # handler adds); a request aiohttp refused before it (a malformed request line)
        # has neither.
        origin = request.get(ORIGIN_KEY)
        client = origin.ip if origin is not None else request.remote or ""
        duration_ms = round(time * 1000, 3)
        log.info(
            '%s "%s %s" %s %.1fms',
            client,
            request.method,
            request.path,
            response.status,
            duration_ms,
            extra={
                FIELDS: {
                    "method": request.method,
                    "path": request.path,
                    "status": response.status,
                    "duration_ms": duration_ms,
                    "client": client,
                    "bytes": response.body_length,
                    "user_agent": request.headers.get("User-Agent"),
                },
            },
        )

    @property
    def enabled(self) -> bool:
        return log.isEnabledFor(logging.INFO)
