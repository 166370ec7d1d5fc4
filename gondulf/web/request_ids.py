"""Every request's id: on its response (`X-Request-Id`) and on each log line written for it.

A trusted proxy (GONDULF_TRUSTED_PROXIES) may name the id, so one id follows a request
from the proxy's log into Gondulf's; it is taken only when it is one short token of
visible characters (RFC 9110 `tchar`). Anyone else's `X-Request-Id` is replaced by a new
random id: a client can neither write into the log nor pass its requests off as
another's.
"""

from __future__ import annotations

import os
import random
import re

from aiohttp import web

from gondulf.web.client_address import from_trusted_proxy

HEADER = "X-Request-Id"
MAX_LENGTH = 128
SANE = re.compile(rf"[A-Za-z0-9!#$%&'*+.^_`|~-]{{1,{MAX_LENGTH}}}")
# An id labels log lines and grants nothing, so it needs to be unique, not unguessable:
# a generator seeded once from the system's randomness makes one in a fraction of the
# time a read of os.urandom per request takes.
_ids = random.Random()  # noqa: S311
os.register_at_fork(after_in_child=_ids.seed)  # a forked process must not repeat its ids


def new_request_id() -> str:
    return f"{_ids.getrandbits(64):016x}"


def choose_request_id(request: web.Request) -> str:
    """The nearest trusted proxy's id (a proxy appends its line last), or a new one."""
    if HEADER in request.headers and from_trusted_proxy(request):
        offered = request.headers.getall(HEADER)[-1]
        if SANE.fullmatch(offered):
            return offered
    return new_request_id()
