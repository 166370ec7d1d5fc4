"""The pages of a sign-in: one per step (website, address, code, consent), and the page of
the step a session is at, so a person coming back or hitting a problem is never stranded."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from gondulf.indieauth.scopes import describe
from gondulf.services.signin.email_code import email_state, masked, shown_addresses
from gondulf.services.signin.sessions import AuthSession
from gondulf.web.grants import is_grants_sign_in, open_grants
from gondulf.web.keys import SERVICES
from gondulf.web.responses import page


async def page_for(
    request: web.Request, session: AuthSession, *, status: int = 200, error: str | None = None
) -> web.Response:
    """The page of the step the sign-in is at: website, address, code or consent."""
    proof = email_state(session)
    if session.verified:
        if is_grants_sign_in(request, session):
            return await open_grants(request, request.app[SERVICES].signin, session)
        return consent_page(request, session)
    if session.me is None or proof is None:
        return website_page(request, session, error=error, status=status)
    if proof.email is None:  # no code sent for this website yet
        return send_page(request, session, status=status, error=error)
    return code_page(request, session, status=status, error=error)


def _context(session: AuthSession) -> dict[str, Any]:
    client = session.client
    request = session.request
    proof = email_state(session)
    return {
        "session": session,
        "client_id": request.client_id,
        "client_name": client.name if client and client.name else None,
        "client_logo": client.logo if client else None,
        "client_uri": client.uri if client else None,
        "client_uri_warning": bool(client and client.uri_host_differs),
        "redirect_host": urlsplit(request.redirect_uri).netloc,
        "csrf": session.csrf,
        "addresses": shown_addresses(proof.emails) if proof else [],
        "sent_to": masked(proof.email) if proof and proof.email else None,
    }


def _context_page(
    request: web.Request, session: AuthSession, template: str, *, status: int = 200, **extra: Any
) -> web.Response:
    return page(request, template, status=status, **_context(session), **extra)


def website_page(
    request: web.Request,
    session: AuthSession,
    *,
    error: str | None = None,
    value: str = "",
    status: int | None = None,
) -> web.Response:
    return _context_page(
        request,
        session,
        "signin_website.html",
        title="Sign in",
        status=status or (400 if error else 200),
        error=error,
        value=value,
    )


def send_page(
    request: web.Request, session: AuthSession, *, status: int = 200, error: str | None = None
) -> web.Response:
    return _context_page(
        request, session, "signin_email.html", title="Send your code", status=status, error=error
    )


def code_page(
    request: web.Request,
    session: AuthSession,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> web.Response:
    state = email_state(session)
    live = state is not None and state.code_live(time.time())
    return _context_page(
        request,
        session,
        "signin_code.html",
        title="Enter your code",
        status=status,
        error=error,
        notice=notice,
        code_dead=not live,
    )


def consent_page(request: web.Request, session: AuthSession) -> web.Response:
    scopes = [(scope, describe(scope)) for scope in session.request.scope]
    return _context_page(
        request, session, "signin_consent.html", title="Allow access?", scopes=scopes
    )
