"""GET /grants: the apps a person has signed in to, each of which they can end."""

from __future__ import annotations

from aiohttp import web

from gondulf.indieauth.scopes import describe
from gondulf.services.digests import same
from gondulf.services.signin.flow import SignIn
from gondulf.services.signin.problems import Problem, SignInProblem
from gondulf.services.signin.sessions import AuthSession
from gondulf.storage.records import GrantsSession
from gondulf.web.forms import read_form
from gondulf.web.keys import SERVICES, SETTINGS
from gondulf.web.paths import Name, path_of, see_other, url_of
from gondulf.web.responses import page

COOKIE = "gondulf_grants"


def is_grants_sign_in(request: web.Request, session: AuthSession) -> bool:
    return session.request.redirect_uri == url_of(request, Name.GRANTS)


async def open_grants(request: web.Request, signin: SignIn, session: AuthSession) -> web.Response:
    """After the emailed code: sign the person in to the grants page."""
    me = await signin.finish(session)
    session_id = await request.app[SERVICES].grants.sign_in(me)
    response = see_other(request, Name.GRANTS)
    response.set_cookie(
        COOKIE,
        session_id,
        path=path_of(request, Name.GRANTS),
        httponly=True,
        samesite="Lax",
        secure=not request.app[SETTINGS].debug,
    )
    return response


async def _grants_session(request: web.Request) -> GrantsSession | None:
    session_id = request.cookies.get(COOKIE, "")
    if not session_id:
        return None
    return await request.app[SERVICES].grants.session(session_id)


async def grants_get(request: web.Request) -> web.Response:
    session = await _grants_session(request)
    if session is None:  # sign in first, with the same proof as any sign-in
        return see_other(request, Name.SIGNIN_GRANTS)
    grants = await request.app[SERVICES].grants.grants_of(session.me)
    return page(
        request,
        "grants.html",
        title="Your apps",
        me=session.me,
        csrf=session.csrf,
        grants=grants,
        describe=describe,
    )


async def _form_session(request: web.Request) -> tuple[GrantsSession, dict[str, str]]:
    form = dict(await read_form(request))
    session = await _grants_session(request)
    if session is None or not same(form.get("csrf", ""), session.csrf):
        raise SignInProblem(
            Problem.CSRF,
            "This form has expired",
            "Your session on this page ended, or the form came from elsewhere.",
            "Open the grants page again.",
            status=403,
        )
    return session, form


async def revoke_post(request: web.Request) -> web.Response:
    session, form = await _form_session(request)
    if not await request.app[SERVICES].grants.revoke(session.me, form.get("grant", "")):
        raise SignInProblem(
            Problem.UNKNOWN_GRANT,
            "No such grant",
            "That grant is not one of yours, or it has already ended.",
            status=404,
        )
    return see_other(request, Name.GRANTS)


async def signout_post(request: web.Request) -> web.Response:
    session, _ = await _form_session(request)
    await request.app[SERVICES].grants.sign_out(session)
    response = see_other(request, Name.HOME)
    response.del_cookie(COOKIE, path=path_of(request, Name.GRANTS))
    return response
