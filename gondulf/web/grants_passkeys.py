"""The grants page's passkeys: add one (within an hour of an emailed code), rename, remove.

Removing the last one returns the identity to emailed codes: a sign-in offers a passkey
only while the identity has one.
"""

from __future__ import annotations

from aiohttp import web

from gondulf.services.passkeys import PasskeyError
from gondulf.services.signin.problems import SignInProblem
from gondulf.web.grants import back_saying, form_session
from gondulf.web.keys import SERVICES
from gondulf.web.signin_passkeys import ceremony, refusal


async def options_post(request: web.Request) -> web.Response:
    """JSON for the page's script: the options to create a passkey, and the challenge's ID."""
    try:
        session, _ = await form_session(request)
        options, challenge = await request.app[SERVICES].passkeys.registration_options(session.me)
    except SignInProblem as problem:
        return refusal(problem.title, problem.status)
    except PasskeyError as exc:
        return refusal(str(exc), 400)
    return ceremony(options, challenge)


async def add_post(request: web.Request) -> web.Response:
    session, form = await form_session(request)
    try:
        passkey = await request.app[SERVICES].passkeys.register(
            session.me, form.get("challenge", ""), form.get("credential", "")
        )
    except PasskeyError as exc:
        return back_saying(request, session, f"The passkey was not saved: {exc}")
    return back_saying(request, session, f"Passkey “{passkey.name}” saved.")


async def rename_post(request: web.Request) -> web.Response:
    session, form = await form_session(request)
    try:
        passkey = await request.app[SERVICES].passkeys.rename(
            session.me, form.get("passkey", ""), form.get("name", "")
        )
    except PasskeyError as exc:
        return back_saying(request, session, f"The passkey was not renamed: {exc}")
    return back_saying(request, session, f"Passkey renamed “{passkey.name}”.")


async def remove_post(request: web.Request) -> web.Response:
    session, form = await form_session(request)
    try:
        passkey = await request.app[SERVICES].passkeys.remove(session.me, form.get("passkey", ""))
    except PasskeyError as exc:
        return back_saying(request, session, f"The passkey was not removed: {exc}")
    return back_saying(request, session, f"Passkey “{passkey.name}” removed: it no longer works.")
