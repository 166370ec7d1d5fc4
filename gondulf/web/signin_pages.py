"""The pages of a sign-in: one per step (website, address, code, consent), and the page of
the step a session is at, so a person coming back or hitting a problem is never stranded.

Every page names the app by its verified address first (a name is the app's own claim),
says what the last form led to (the session's Note), and offers to cancel back to the app.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from gondulf.indieauth.scopes import grouped
from gondulf.services.signin.email_code import email_state, masked, shown_addresses
from gondulf.services.signin.problems import ago, minutes
from gondulf.services.signin.sessions import AuthSession
from gondulf.web.grants import is_grants_sign_in, open_grants
from gondulf.web.keys import SERVICES
from gondulf.web.paths import Name, path_of
from gondulf.web.responses import page


async def page_for(request: web.Request, session: AuthSession) -> web.Response:
    """The page of the step the sign-in is at: website, address, code or consent."""
    proof = email_state(session)
    if session.verified:
        if is_grants_sign_in(request, session):
            return await open_grants(request, request.app[SERVICES].signin, session)
        return consent_page(request, session)
    note = session.note
    if (note is not None and note.website is not None) or session.me is None or proof is None:
        return website_page(request, session)
    if proof.email is None:  # no code sent for this website yet
        return await send_page(request, session)
    return code_page(request, session)


def may_register(request: web.Request, session: AuthSession) -> bool:
    """Offer a passkey on the consent page: this sign-in was just proven by an emailed code."""
    proof = email_state(session)
    passkeys = request.app[SERVICES].passkeys
    return passkeys.available and session.verified and proof is not None and bool(proof.email)


def client_context(request: web.Request, session: AuthSession) -> dict[str, Any]:
    """Who is asking: the app's address leads; its name is only what it calls itself."""
    client = session.client
    client_id = session.request.client_id
    host = urlsplit(client_id).netloc
    name = client.name if client and client.name else None
    logo = client.logo if client and client.logo else None
    grants = is_grants_sign_in(request, session)
    return {
        "grants_sign_in": grants,
        "client_id": client_id,
        "client_host": host,
        "client_name": None if grants or name == host else name,
        "client_logo": logo if logo and logo.startswith("https://") else None,
        "client_letter": (name or host)[:1].upper(),
        "client_uri": client.uri if client else None,
        "client_uri_warning": bool(client and client.uri_host_differs),
        "redirect_host": urlsplit(session.request.redirect_uri).netloc,
    }


def _page(
    request: web.Request, session: AuthSession, template: str, title: str, **extra: Any
) -> web.Response:
    """A page of the sign-in, with its note: a problem sets the status (and Retry-After
    while it applies)."""
    handle = request.match_info["handle"]
    note = extra.pop("note", session.note)
    status = note.status if note is not None and note.is_problem else 200
    response = page(
        request,
        template,
        status=status,
        title=title,
        session=session,
        csrf=session.csrf,
        note=note,
        step=lambda name: path_of(request, Name(name), handle=handle),
        **client_context(request, session),
        **extra,
    )
    if note is not None and note.retry_at is not None and note.retry_at > time.time():
        response.headers["Retry-After"] = str(int(note.retry_at - time.time()))
    return response


def website_page(request: web.Request, session: AuthSession) -> web.Response:
    note = session.note
    typed = note.website if note is not None and note.website is not None else None
    return _page(
        request,
        session,
        "signin_website.html",
        "Sign in",
        note=note if typed is not None else None,
        value=typed or "",
    )


async def send_page(request: web.Request, session: AuthSession) -> web.Response:
    """Where the code will go; first, for an identity with a passkey, "Use your passkey"."""
    proof = email_state(session)
    passkeys = request.app[SERVICES].passkeys
    offered = (
        session.me is not None
        and proof is not None
        and await passkeys.offered_to(session.me, listed=proof.emails)
    )
    return _page(
        request,
        session,
        "signin_email.html",
        "Send your code",
        addresses=shown_addresses(proof.emails) if proof else [],
        passkey_offered=offered,
    )


def code_page(request: web.Request, session: AuthSession) -> web.Response:
    """The code's page: where it went, how long it works, and how many more may be sent."""
    proof = email_state(session)
    assert proof is not None and proof.email is not None
    now = time.time()
    expiry = request.app[SERVICES].signin.settings.code_expiry
    expires_at = proof.code_expires_at if proof.code_live(now) else None
    codes_left = max(0, request.app[SERVICES].limits.codes_per_session - proof.codes_sent)
    return _page(
        request,
        session,
        "signin_code.html",
        "Enter your code",
        sent_to=masked(proof.email),
        code_dead=expires_at is None,
        sent_ago=None if expires_at is None else ago(now - (expires_at - expiry)),
        works_for=None if expires_at is None else minutes(int(expires_at - now)),
        codes_left=codes_left,
    )


def consent_page(request: web.Request, session: AuthSession) -> web.Response:
    return _page(
        request,
        session,
        "signin_consent.html",
        "Allow access?",
        groups=grouped(session.request.scope),
        passkey_register=may_register(request, session),
    )
