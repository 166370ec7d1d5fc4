"""The grants page's passkeys: add one (within an hour of an emailed code), rename, remove.

Removing the last one returns the identity to emailed codes: a sign-in offers a passkey
only while the identity has one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Handler

from gondulf.services.passkeys import PasskeyError, PasskeyService
from gondulf.services.signin.problems import SignInProblem
from gondulf.storage.records import Passkey
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


Change = Callable[[PasskeyService, str, dict[str, str]], Awaitable[Passkey]]


def _changing(change: Change, not_done: str, done: str) -> Handler:
    """A form of the passkeys list: `change` for the grants session's identity, then back
    to the list saying what happened (`done` names the passkey as {name})."""

    async def handle(request: web.Request) -> web.Response:
        session, form = await form_session(request)
        try:
            passkey = await change(request.app[SERVICES].passkeys, session.me, form)
        except PasskeyError as exc:
            return back_saying(request, session, f"The passkey was not {not_done}: {exc}")
        return back_saying(request, session, done.format(name=passkey.name))

    return handle


add_post = _changing(
    lambda passkeys, me, form: passkeys.register(
        me, form.get("challenge", ""), form.get("credential", "")
    ),
    "saved",
    "Passkey “{name}” saved.",
)
rename_post = _changing(
    lambda passkeys, me, form: passkeys.rename(me, form.get("passkey", ""), form.get("name", "")),
    "renamed",
    "Passkey renamed “{name}”.",
)
remove_post = _changing(
    lambda passkeys, me, form: passkeys.remove(me, form.get("passkey", "")),
    "removed",
    "Passkey “{name}” removed: it no longer works.",
)
