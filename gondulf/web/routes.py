"""The route table: every endpoint once, with its path, handlers and what it is.

A new endpoint is one row here. Its path is registered under its name
(`app.router[name].url_for()`), so handlers, redirects, cookies and form
actions never spell it again; an `advertised` endpoint appears in the
metadata document under that key; an `api` endpoint answers errors in JSON;
a `probe` answers over plain HTTP in production; `limited` handlers count
failed calls against the client's address; an endpoint with a `switch` exists only
when its setting is on (otherwise its path is as unknown as any other).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

from aiohttp import web
from aiohttp.typedefs import Handler

from gondulf.config import Settings
from gondulf.indieauth.endpoints import METADATA_PATH
from gondulf.web import (
    authorize,
    grants,
    grants_passkeys,
    handlers,
    metadata,
    metrics,
    redemption,
    revocation,
    signin_passkeys,
    userinfo,
    verification,
)
from gondulf.web.api_limits import limit_failures
from gondulf.web.paths import Name


@dataclass(frozen=True)
class Route:
    name: Name
    path: str
    handlers: MappingProxyType[str, Handler]  # method → handler
    advertised: str | None = None  # its key in the metadata document (RFC 8414)
    api: bool = False
    probe: bool = False
    limited: frozenset[str] = field(default_factory=frozenset)  # methods counting failures
    switch: Callable[[Settings], bool] | None = None  # served only when this says so


def route(
    name: Name,
    path: str,
    *,
    get: Handler | None = None,
    post: Handler | None = None,
    advertised: str | None = None,
    api: bool = False,
    probe: bool = False,
    limited: tuple[str, ...] = (),
    switch: Callable[[Settings], bool] | None = None,
) -> Route:
    methods = {
        method: handler for method, handler in (("GET", get), ("POST", post)) if handler is not None
    }
    return Route(
        name,
        path,
        MappingProxyType(methods),
        advertised,
        api,
        probe,
        frozenset(limited),
        switch,
    )


HANDLE = "{handle:[0-9a-f]{16}}"  # a sign-in's handle (authorize._handle_of): nothing else

ROUTES: tuple[Route, ...] = (
    route(Name.HOME, "/", get=handlers.home),
    route(Name.HEALTH, "/health", get=handlers.health, api=True, probe=True),
    route(Name.METADATA, f"/{METADATA_PATH}", get=metadata.metadata, api=True),
    route(
        Name.AUTHORIZATION,
        "/authorize",
        get=authorize.authorize_get,
        post=redemption.authorization_code_post,
        advertised="authorization_endpoint",
        limited=("POST",),
    ),
    route(Name.SIGNIN_GRANTS, "/authorize/grants", get=authorize.grants_sign_in),
    # One sign-in's pages, below a handle of its own, where its cookie lives: sign-ins
    # in two tabs of one browser keep apart. Each form answers with a redirect to the
    # page of the current step; a GET of a form's address is sent there too.
    route(Name.SIGNIN_STEP, f"/authorize/s/{HANDLE}/", get=authorize.step_get),
    route(
        Name.SIGNIN_WEBSITE,
        f"/authorize/s/{HANDLE}/website",
        get=authorize.website_get,
        post=authorize.website_post,
    ),
    *(
        route(name, f"/authorize/s/{HANDLE}/{leaf}", get=authorize.to_step, post=post)
        for name, leaf, post in (
            (Name.SIGNIN_EMAIL, "email", authorize.email_post),
            (Name.SIGNIN_CODE, "code", authorize.code_post),
            (Name.SIGNIN_RESEND, "resend", authorize.resend_post),
            (Name.SIGNIN_CONSENT, "consent", authorize.consent_post),
            (Name.SIGNIN_CANCEL, "cancel", authorize.cancel_post),
            (Name.SIGNIN_PASSKEY, "passkey", signin_passkeys.passkey_post),
            (Name.SIGNIN_PASSKEY_NEW, "new-passkey", signin_passkeys.register_post),
        )
    ),
    # The script's half of a passkey ceremony: its options, as JSON.
    route(
        Name.SIGNIN_PASSKEY_OPTIONS,
        f"/authorize/s/{HANDLE}/passkey-options",
        post=signin_passkeys.sign_in_options,
    ),
    route(
        Name.SIGNIN_PASSKEY_NEW_OPTIONS,
        f"/authorize/s/{HANDLE}/new-passkey-options",
        post=signin_passkeys.register_options,
    ),
    route(
        Name.TOKEN,
        "/token",
        get=verification.token_get,
        post=redemption.token_post,
        advertised="token_endpoint",
        api=True,
        limited=("GET", "POST"),
    ),
    route(
        Name.INTROSPECTION,
        "/introspect",
        post=verification.introspect,
        advertised="introspection_endpoint",
        api=True,
        limited=("POST",),
    ),
    route(
        Name.REVOCATION,
        "/revoke",
        post=revocation.revoke,
        advertised="revocation_endpoint",
        api=True,
        limited=("POST",),
    ),
    route(
        Name.USERINFO,
        "/userinfo",
        get=userinfo.userinfo,
        advertised="userinfo_endpoint",
        api=True,
        limited=("GET",),
    ),
    route(Name.GRANTS, "/grants", get=grants.grants_get),
    route(Name.GRANTS_END, "/grants/end", get=grants.end_get),
    route(Name.GRANTS_REVOKE, "/grants/revoke", post=grants.revoke_post),
    route(Name.GRANTS_SIGNOUT, "/grants/signout", post=grants.signout_post),
    route(
        Name.GRANTS_PASSKEY_OPTIONS, "/grants/passkey-options", post=grants_passkeys.options_post
    ),
    route(Name.GRANTS_PASSKEY_ADD, "/grants/passkeys/add", post=grants_passkeys.add_post),
    route(Name.GRANTS_PASSKEY_RENAME, "/grants/passkeys/rename", post=grants_passkeys.rename_post),
    route(Name.GRANTS_PASSKEY_REMOVE, "/grants/passkeys/remove", post=grants_passkeys.remove_post),
    route(
        Name.METRICS,
        "/metrics",
        get=metrics.metrics_get,
        probe=True,  # a scraper on this machine speaks plain HTTP
        switch=lambda settings: settings.metrics,
    ),
)


def served(settings: Settings) -> tuple[Route, ...]:
    """The routes these settings serve."""
    return tuple(item for item in ROUTES if item.switch is None or item.switch(settings))


def add_routes(app: web.Application, settings: Settings) -> None:
    for item in served(settings):
        resource = app.router.add_resource(item.path, name=item.name.value)
        for method, handler in item.handlers.items():
            resource.add_route(
                method, limit_failures(handler) if method in item.limited else handler
            )


def url_of(issuer: str, name: Name) -> str:
    """The absolute URL of an endpoint (endpoints are served at the root of the issuer)."""
    path = next(item.path for item in ROUTES if item.name == name)
    return issuer + path.removeprefix("/")


def advertised_endpoints(issuer: str) -> dict[str, str]:
    """Every endpoint the metadata document names, by its RFC 8414 key."""
    return {item.advertised: url_of(issuer, item.name) for item in ROUTES if item.advertised}


def api_prefixes() -> tuple[str, ...]:
    """Paths whose answers (errors included) are JSON: API endpoints and /.well-known/."""
    well_known = "/" + METADATA_PATH.split("/")[0] + "/"
    return (well_known, *sorted(item.path for item in ROUTES if item.api))


def probe_paths(settings: Settings) -> frozenset[str]:
    return frozenset(item.path for item in served(settings) if item.probe)
