"""Reading a request's form: bounded in time as well as in size.

aiohttp bounds the body's size (client_max_size) but not how long it may
take to arrive; a body trickled in a byte at a time would hold the request
open for ever. Every form is read here, within GONDULF_REQUEST_TIMEOUT.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from multidict import MultiDict

from gondulf.indieauth.errors import InvalidRequest
from gondulf.web.credentials import note_form
from gondulf.web.keys import SETTINGS

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def read_form(request: web.Request) -> MultiDict[str]:
    """The form's text fields (files are dropped); 408 when the body is too slow."""
    timeout = request.app[SETTINGS].request_timeout
    try:
        async with asyncio.timeout(timeout):
            form = await request.post()
    except TimeoutError:
        raise web.HTTPRequestTimeout(
            text=f"The request body did not arrive within {timeout:g} seconds."
        ) from None
    except (LookupError, ValueError) as exc:  # an unknown charset, undecodable bytes
        raise web.HTTPBadRequest(text=f"The form could not be read: {exc}") from None
    return MultiDict((key, value) for key, value in form.items() if isinstance(value, str))


async def api_form(request: web.Request) -> dict[str, str]:
    """The parameters of an API call (RFC 6749 §3.2: form-encoded)."""
    if request.content_type not in FORM_TYPES:
        raise InvalidRequest("send the parameters as application/x-www-form-urlencoded")
    form = dict(await read_form(request))
    note_form(request, form)
    return form
