"""GET /grants: the apps a person has signed in to, each of which they can end.

Ending one asks first (GET /grants/end), then says it is done: the redirect back to the
list names the app, signed with the grants session's secret so no link can make the page
claim another app's access ended.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from aiohttp import web

from gondulf.indieauth.scopes import describe
from gondulf.services.digests import keyed_digest, same
from gondulf.services.signin.flow import SignIn
from gondulf.services.signin.problems import Problem, SignInProblem
from gondulf.services.signin.sessions import AuthSession
from gondulf.storage.records import GrantsSession
from gondulf.web.forms import read_form
from gondulf.web.keys import SERVICES, SETTINGS
from gondulf.web.paths import Name, path_of, see_other, url_of
from gondulf.web.responses import NO_STORE, page

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


def _host(client_id: str) -> str:
    return urlsplit(client_id).netloc


def _ended_signature(request: web.Request, session: GrantsSession, host: str) -> str:
    key = request.app[SETTINGS].secret_key
    return keyed_digest(key, f"access ended {session.csrf} {host}")[:32]


async def grants_get(request: web.Request) -> web.Response:
    session = await _grants_session(request)
    if session is None:  # sign in first, with the same proof as any sign-in
        return see_other(request, Name.SIGNIN_GRANTS)
    grants = await request.app[SERVICES].grants.grants_of(session.me)
    ended = request.query.get("ended", "")
    signature = request.query.get("signed", "")
    if not same(signature, _ended_signature(request, session, ended)):
        ended = ""
    return page(
        request,
        "grants.html",
        title="Your apps",
        me=session.me,
        csrf=session.csrf,
        grants=grants,
        describe=describe,
        host=_host,
        ended=ended,
    )


async def end_get(request: web.Request) -> web.Response:
    """ "End access" pressed: what ending it means, and the button that does it."""
    session = await _grants_session(request)
    if session is None:
        return see_other(request, Name.SIGNIN_GRANTS)
    family = request.query.get("grant", "")
    grants = await request.app[SERVICES].grants.grants_of(session.me)
    grant = next((grant for grant in grants if grant.family_id == family), None)
    if grant is None:
        raise _unknown_grant()
    return page(
        request,
        "grants_end.html",
        title=f"End access for {_host(grant.client_id)}?",
        me=session.me,
        csrf=session.csrf,
        grant=grant,
        app_host=_host(grant.client_id),
        describe=describe,
    )


def _unknown_grant() -> SignInProblem:
    return SignInProblem(
        Problem.UNKNOWN_GRANT,
        "No such grant",
        "That grant is not one of yours, or it has already ended.",
        "Open the list of your apps again.",
        status=404,
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
    service = request.app[SERVICES].grants
    family = form.get("grant", "")
    grant = next((g for g in await service.grants_of(session.me) if g.family_id == family), None)
    if grant is None or not await service.revoke(session.me, family):
        raise _unknown_grant()
    host = _host(grant.client_id)
    query = urlencode({"ended": host, "signed": _ended_signature(request, session, host)})
    return web.Response(
        status=303,
        headers={"Location": f"{path_of(request, Name.GRANTS)}?{query}", **NO_STORE},
    )


async def signout_post(request: web.Request) -> web.Response:
    session, _ = await _form_session(request)
    await request.app[SERVICES].grants.sign_out(session)
    response = see_other(request, Name.HOME)
    response.del_cookie(COOKIE, path=path_of(request, Name.GRANTS))
    return response
