"""Passkeys in a sign-in: proving the identity with one, and adding one after an emailed code.

Each ceremony is two requests from the page's script (static/passkey.js): the options
(JSON, with the ID of a single-use challenge kept server-side by PasskeyService), then the
browser's answer, posted as an ordinary form so the answer is a redirect to the sign-in's
page like every other form's. Without JavaScript or WebAuthn nothing of this shows, and
the emailed code works as ever. The DNS check and the homepage have been read for the
session's `me` before a passkey is offered: a passkey never stands in for them.
"""

from __future__ import annotations

import json

from aiohttp import web

from gondulf.services.passkeys import PasskeyError
from gondulf.services.rate_limits import address_key
from gondulf.services.signin.email_code import email_state
from gondulf.services.signin.flow import SignIn
from gondulf.services.signin.problems import Note, SignInProblem
from gondulf.services.signin.sessions import AuthSession
from gondulf.web.authorize import Form, Outcome, field, form_session, sign_in_form
from gondulf.web.client_address import client_ip
from gondulf.web.forms import read_form
from gondulf.web.keys import SERVICES
from gondulf.web.responses import NO_STORE, json_response
from gondulf.web.signin_pages import may_register


async def _options(request: web.Request, purpose: str) -> web.Response:
    """JSON for the page's script: the ceremony's options and its challenge's ID."""
    form = await read_form(request)
    signin: SignIn = request.app[SERVICES].signin
    passkeys = request.app[SERVICES].passkeys
    try:
        session = await form_session(request, signin, form)
        if session.me is None:
            return refusal("Start by entering your website.", 400)
        if purpose == "register":
            if not may_register(request, session):
                return refusal("Sign in with an emailed code first.", 403)
            options, challenge = await passkeys.registration_options(session.me)
        else:
            limited = await _limited(request)
            if limited is not None:
                return refusal(limited, 429)
            await signin.admit(client_ip(request))  # each ceremony counts as a sign-in
            options, challenge = await passkeys.authentication_options(
                session.me, listed=_listed(session)
            )
    except SignInProblem as problem:
        return refusal(f"{problem.title}. {problem.fix or ''}".strip(), problem.status)
    except PasskeyError as exc:
        return refusal(str(exc), 400)
    return ceremony(options, challenge)


def ceremony(options: str, challenge: str) -> web.Response:
    """What the page's script gets: the options for navigator.credentials, and the ID of
    their challenge to post back with the answer."""
    return json_response(
        {"options": json.loads(options), "challenge": challenge}, headers=dict(NO_STORE)
    )


def refusal(message: str, status: int) -> web.Response:
    """No ceremony, and why (the script shows it beside the button)."""
    return json_response({"error": message}, status=status, headers=dict(NO_STORE))


async def _limited(request: web.Request) -> str | None:
    """Wrong passkey answers count like wrong codes: past the limit, no more tries."""
    services = request.app[SERVICES]
    limit = services.limits.wrong_codes_per_ip
    if await services.limiter.reached(limit, address_key(client_ip(request))) is not None:
        return "Too many failed sign-ins from your network: email yourself a code instead."
    return None


async def sign_in_options(request: web.Request) -> web.Response:
    return await _options(request, "sign-in")


async def register_options(request: web.Request) -> web.Response:
    return await _options(request, "register")


@sign_in_form
async def passkey_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    """The browser's answer to "Use your passkey": the session proven, or why not."""
    services = request.app[SERVICES]
    limited = await _limited(request)
    if session.me is None or limited is not None:
        return _failed(limited or "Start by entering your website.")
    try:
        await services.passkeys.authenticate(
            session.me,
            field(form, "challenge"),
            form.get("credential", ""),
            listed=_listed(session),
        )
    except PasskeyError as exc:
        ip = address_key(client_ip(request))
        await services.limiter.count(services.limits.wrong_codes_per_ip, ip)
        return _failed(str(exc))
    await signin.proven_by_passkey(session)
    return None


def _listed(session: AuthSession) -> tuple[str, ...]:
    """The addresses the homepage listed when this sign-in read it: only passkeys added
    after a code to one of them may prove the identity."""
    proof = email_state(session)
    return proof.emails if proof else ()


def _failed(detail: str) -> Note:
    return Note(
        "passkey-failed",
        "Your passkey did not work",
        detail,
        "Try again, or email yourself a code instead.",
        status=400,
    )


@sign_in_form
async def register_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    """The browser's new passkey, after an emailed code: kept for `me`."""
    if session.me is None or not may_register(request, session):
        return _failed("A passkey can be added only just after signing in with an emailed code.")
    try:
        proof = email_state(session)
        passkey = await request.app[SERVICES].passkeys.register(
            session.me,
            field(form, "challenge"),
            form.get("credential", ""),
            email=proof.email if proof and proof.email else "",
        )
    except PasskeyError as exc:
        return Note("passkey-not-saved", "The passkey was not saved", str(exc), status=400)
    return Note.notice(f"Passkey “{passkey.name}” saved: next time, sign in with it.")
