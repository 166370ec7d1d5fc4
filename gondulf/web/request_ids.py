"""Every request's id: on its response (`X-Request-Id`) and on each log line written for it.

A trusted proxy (GONDULF_TRUSTED_PROXIES) may name the id, so one id follows a request
from the proxy's log into Gondulf's; it is taken only when it is one short token of
visible characters (RFC 9110 `tchar`). Anyone else's `X-Request-Id` is replaced by a new
random id: a client can neither write into the log nor pass its requests off as
another's.
"""

from __future__ import annotations

import re
import secrets

from aiohttp import web

from gondulf.web.client_address import from_trusted_proxy

HEADER = "X-Request-Id"
MAX_LENGTH = 128
SANE = re.compile(rf"[A-Za-z0-9!#$%&'*+.^_`|~-]{{1,{MAX_LENGTH}}}")
REQUEST_ID = web.RequestKey("request_id", str)


def new_request_id() -> str:
    return secrets.token_hex(8)


def choose_request_id(request: web.Request) -> str:
    """The nearest trusted proxy's id (a proxy appends its line last), or a new one."""
    if from_trusted_proxy(request):
        offered = request.headers.getall(HEADER, [])
        if offered and SANE.fullmatch(offered[-1]):
            return offered[-1]
    return new_request_id()
