"""Endpoint names, and their paths as the running application registered them.

The paths themselves are written once, in gondulf.web.routes; everything
else asks the router by name.
"""

from __future__ import annotations

import enum

from aiohttp import web

from gondulf.web.keys import SETTINGS


class Name(enum.StrEnum):
    HOME = "home"
    HEALTH = "health"
    METADATA = "metadata"
    AUTHORIZATION = "authorization"
    SIGNIN_STEP = "signin-step"
    SIGNIN_WEBSITE = "signin-website"
    SIGNIN_GRANTS = "signin-grants"
    SIGNIN_EMAIL = "signin-email"
    SIGNIN_CODE = "signin-code"
    SIGNIN_RESEND = "signin-resend"
    SIGNIN_CONSENT = "signin-consent"
    SIGNIN_CANCEL = "signin-cancel"
    TOKEN = "token"  # noqa: S105 - an endpoint's name
    INTROSPECTION = "introspection"
    REVOCATION = "revocation"
    USERINFO = "userinfo"
    GRANTS = "grants"
    GRANTS_END = "grants-end"
    GRANTS_REVOKE = "grants-revoke"
    GRANTS_SIGNOUT = "grants-signout"
    METRICS = "metrics"


def path_of(request: web.Request, name: Name, **parts: str) -> str:
    """The path of the endpoint `name`, such as `/authorize`; `parts` fill in its
    variable parts (a sign-in's pages: `handle`)."""
    return str(request.app.router[name.value].url_for(**parts))


def url_of(request: web.Request, name: Name) -> str:
    """The absolute URL of the endpoint `name`, below the issuer."""
    return request.app[SETTINGS].issuer + path_of(request, name).removeprefix("/")


def see_other(request: web.Request, name: Name, **parts: str) -> web.Response:
    """303 to an endpoint: after a form, the browser GETs the page."""
    return web.Response(
        status=303,
        headers={"Location": path_of(request, name, **parts), "Cache-Control": "no-store"},
    )
