"""The authorization endpoint and its pages (IndieAuth §5.2).

GET /authorize checks the client's request and starts a sign-in; the forms
below /authorize/ walk the person through website, email code and consent.
Every form carries the session's CSRF token; the session id lives only in an
HttpOnly cookie.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import MultiDictProxy

from gondulf.indieauth.clients import (
    ClientInfo,
    redirect_uri_allowed,
    redirect_uri_needs_client_info,
)
from gondulf.indieauth.endpoints import EndpointUrls
from gondulf.indieauth.errors import AccessDenied, OAuthError
from gondulf.indieauth.request import AuthorizationRequest, client_and_redirect, parse_request
from gondulf.indieauth.scopes import describe
from gondulf.indieauth.urls import InvalidURL
from gondulf.services.clients import ClientInfoService, ClientInfoUnavailable
from gondulf.services.digests import same
from gondulf.services.grants import grants_client, grants_sign_in_request
from gondulf.services.sessions import SESSION_LIFETIME, AuthSession, CodeCheck
from gondulf.services.signin import SignIn, SignInProblem, expired
from gondulf.web.grants import is_grants_sign_in, open_grants
from gondulf.web.keys import SERVICES, SETTINGS
from gondulf.web.responses import page, problem_page

log = logging.getLogger("gondulf.authorize")

COOKIE = "gondulf_signin"


def _signin(request: web.Request) -> SignIn:
    return SignIn(request.app[SERVICES])


def _invalid_link(request: web.Request, detail: str) -> web.Response:
    """An error before redirect_uri is verified: shown here, never redirected."""
    return page(request, "problem.html", status=400, title="This sign-in link is not valid",
                detail=detail, fix="Go back to the app and tell its developer; "
                "you cannot sign in with this link.")


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _error_redirect(signin: SignIn, redirect_uri: str, error: OAuthError,
                    state: str | None) -> web.Response:
    """An error sent back to the verified redirect_uri, with state and iss."""
    params = {"error": error.error, "error_description": error.description}
    if state:
        params["state"] = state
    return _redirect(signin.response_url(redirect_uri, params))


async def authorize_get(request: web.Request) -> web.StreamResponse:
    """Check the client's request; start a sign-in session."""
    params = request.query
    if not params:
        return page(request, "problem.html", status=400, title="Start from an app",
                    detail="This is the sign-in address apps send you to.",
                    fix="Go to the app you want to use and sign in there with your website.")
    try:
        client_id, redirect_uri = client_and_redirect(params)
    except InvalidURL as exc:
        return _invalid_link(request, exc.description)
    services = request.app[SERVICES]
    client = None
    try:
        client = await ClientInfoService(services.fetcher, services.db).get(client_id)
    except ClientInfoUnavailable as exc:
        log.info("client information unavailable: %s", exc)
        if redirect_uri_needs_client_info(client_id, redirect_uri):
            return _invalid_link(request, f"The app's redirect_uri {redirect_uri} is on another "
                                 f"host than {client_id}, and the app's page could not be "
                                 "loaded to check that it is registered.")
    if not redirect_uri_allowed(client_id, redirect_uri, client):
        return _invalid_link(request, f"The app's redirect_uri {redirect_uri} is not one "
                             f"that {client_id} publishes.")
    signin = _signin(request)
    try:
        auth_request = parse_request(params, client_id, redirect_uri,
                                     allow_no_pkce=signin.settings.allow_no_pkce,
                                     debug=signin.settings.debug)
    except OAuthError as exc:
        return _error_redirect(signin, redirect_uri, exc, params.get("state"))
    return await start_sign_in(request, auth_request, client)


async def grants_sign_in(request: web.Request) -> web.Response:
    """GET /authorize/grants: the sign-in to Gondulf itself that opens the grants page."""
    issuer = request.app[SETTINGS].issuer
    grants_url = EndpointUrls.for_issuer(issuer).grants
    return await start_sign_in(request, grants_sign_in_request(issuer, grants_url),
                               grants_client(issuer))


async def start_sign_in(request: web.Request, auth_request: AuthorizationRequest,
                        client: ClientInfo | None) -> web.Response:
    """A new sign-in session, its cookie, and its first page."""
    signin = _signin(request)
    session_id, session = await signin.sessions.create(auth_request, client)
    if auth_request.me_hint:
        try:
            response = await _identify(request, signin, session, auth_request.me_hint)
        except SignInProblem as problem:
            response = problem_page(request, problem)
    else:
        response = _website_page(request, session)
    _set_cookie(request, response, session_id)
    return response


def _set_cookie(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    response.set_cookie(COOKIE, session_id, max_age=SESSION_LIFETIME, path="/authorize",
                        httponly=True, samesite="Lax", secure=not request.app[SETTINGS].debug)


async def _cookie_session(request: web.Request, signin: SignIn) -> AuthSession:
    """The live sign-in session named by the cookie, or the "expired" page."""
    session_id = request.cookies.get(COOKIE, "")
    session = await signin.sessions.get(session_id) if session_id else None
    if session is None:
        raise expired()
    return session


async def _form_session(request: web.Request) -> tuple[SignIn, AuthSession,
                                                       MultiDictProxy[str | bytes | Any]]:
    """The session of the cookie, once the form's CSRF token matches it."""
    form = await request.post()
    signin = _signin(request)
    session = await _cookie_session(request, signin)
    token = form.get("csrf")
    if not isinstance(token, str) or not same(token, session.csrf):
        raise SignInProblem("csrf", "This form has expired",
                            "The page was sent from an older or another sign-in, or from "
                            "another site.", "Go back to the app and sign in again.",
                            status=403)
    return signin, session, form


def _field(form: MultiDictProxy[Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


async def website_get(request: web.Request) -> web.Response:
    signin = _signin(request)
    session = await _cookie_session(request, signin)
    return _website_page(request, session)


async def website_post(request: web.Request) -> web.Response:
    signin, session, form = await _form_session(request)
    website = _field(form, "me")
    try:
        return await _identify(request, signin, session, website)
    except SignInProblem as problem:
        if problem.kind == "bad-website":
            return _website_page(request, session, error=problem.detail, value=website)
        raise


async def _identify(request: web.Request, signin: SignIn, session: AuthSession,
                    website: str) -> web.Response:
    session = await signin.identify(session, website)
    if len(session.emails) == 1:
        session = await signin.send_code(session, session.emails[0])
        return _code_page(request, session)
    return _context_page(request, session, "signin_email.html", title="Where should the code go?")


async def email_post(request: web.Request) -> web.Response:
    signin, session, form = await _form_session(request)
    try:
        email = session.emails[int(_field(form, "email"))]
    except (ValueError, IndexError):
        email = ""
    session = await signin.send_code(session, email)
    return _code_page(request, session)


async def resend_post(request: web.Request) -> web.Response:
    signin, session, _ = await _form_session(request)
    session = await signin.send_code(session, session.email or "")
    return _code_page(request, session, notice="A new code is on its way.")


async def code_post(request: web.Request) -> web.Response:
    signin, session, form = await _form_session(request)
    code = "".join(_field(form, "code").split())
    result = await signin.sessions.check_code(session, code)
    fresh = await signin.sessions.reload(session)
    if fresh is None:
        raise expired()
    if result == CodeCheck.RIGHT:
        if is_grants_sign_in(request, fresh):
            return await open_grants(request, fresh)
        return _consent_page(request, fresh)
    if result == CodeCheck.WRONG:
        left = 3 - fresh.attempts
        return _code_page(request, fresh, status=400,
                          error=f"That code is not right. {left} {'try' if left == 1 else 'tries'}"
                          " left.")
    detail = ("Three wrong codes were entered, so this code no longer works."
              if result == CodeCheck.EXHAUSTED else "The code has expired or was already used.")
    return _code_page(request, fresh, status=400, error=detail + " Send a new code.",
                      code_dead=True)


async def consent_post(request: web.Request) -> web.Response:
    signin, session, form = await _form_session(request)
    redirect_uri = session.request.redirect_uri
    if _field(form, "action") != "approve":
        await signin.sessions.delete(session)
        return _error_redirect(signin, redirect_uri,
                               AccessDenied("the person declined to sign in"),
                               session.request.state)
    kept = [value for value in form.getall("scope", []) if isinstance(value, str)]
    return _redirect(await signin.approve(session, kept))


# -- pages --------------------------------------------------------------------------------

def _context(session: AuthSession) -> dict[str, Any]:
    client = session.client
    request = session.request
    return {
        "session": session,
        "client_id": request.client_id,
        "client_name": client.name if client and client.name else None,
        "client_logo": client.logo if client else None,
        "client_uri": client.uri if client else None,
        "client_uri_warning": bool(client and client.uri_host_differs),
        "redirect_host": urlsplit(request.redirect_uri).netloc,
        "csrf": session.csrf,
    }


def _context_page(request: web.Request, session: AuthSession, template: str, *,
                  status: int = 200, **extra: Any) -> web.Response:
    return page(request, template, status=status, **_context(session), **extra)


def _website_page(request: web.Request, session: AuthSession, *, error: str | None = None,
                  value: str = "") -> web.Response:
    return _context_page(request, session, "signin_website.html", title="Sign in",
                         status=400 if error else 200, error=error, value=value)


def _code_page(request: web.Request, session: AuthSession, *, status: int = 200,
               error: str | None = None, notice: str | None = None,
               code_dead: bool = False) -> web.Response:
    return _context_page(request, session, "signin_code.html", title="Enter your code",
                         status=status, error=error, notice=notice, code_dead=code_dead)


def _consent_page(request: web.Request, session: AuthSession) -> web.Response:
    scopes = [(scope, describe(scope)) for scope in session.request.scope]
    return _context_page(request, session, "signin_consent.html", title="Allow access?",
                         scopes=scopes)
