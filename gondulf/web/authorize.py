"""The authorization endpoint and its pages (IndieAuth §5.2).

GET /authorize checks the client's request and starts a sign-in; the forms
below /authorize/ walk the person through website, email code and consent.
Every form carries the session's CSRF token; the session id lives only in an
HttpOnly cookie.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from multidict import MultiDict

from gondulf.indieauth.clients import (
    ClientInfo,
    redirect_uri_allowed,
    redirect_uri_needs_client_info,
)
from gondulf.indieauth.errors import AccessDenied, OAuthError
from gondulf.indieauth.request import AuthorizationRequest, client_and_redirect, parse_request
from gondulf.indieauth.urls import InvalidURL
from gondulf.services.digests import keyed_digest, same
from gondulf.services.outside.client_info import ClientInfoUnavailable
from gondulf.services.rate_limits import address_key
from gondulf.services.signin.email_code import (
    MAX_CODE_ATTEMPTS,
    CodeCheck,
    email_state,
)
from gondulf.services.signin.flow import SignIn
from gondulf.services.signin.known_browsers import KNOWN_FOR, known_browser_value, known_identity
from gondulf.services.signin.problems import Note, Problem, SignInProblem, expired
from gondulf.services.signin.sessions import SESSION_LIFETIME, AuthSession
from gondulf.services.tokens.grants import grants_client, grants_sign_in_request
from gondulf.web.client_address import client_ip
from gondulf.web.forms import read_form
from gondulf.web.grants import is_grants_sign_in, open_grants
from gondulf.web.keys import IN_FLIGHT, SERVICES, SETTINGS
from gondulf.web.paths import Name, path_of, see_other, url_of
from gondulf.web.responses import count_problem, page
from gondulf.web.signin_pages import page_for, website_page

log = logging.getLogger("gondulf.authorize")

COOKIE = "gondulf_signin"
KNOWN_COOKIE = "gondulf_known"


Form = MultiDict[str]


def _signin(request: web.Request) -> SignIn:
    return request.app[SERVICES].signin


def _invalid_link(request: web.Request, detail: str) -> web.Response:
    """An error before redirect_uri is verified: shown here, never redirected."""
    return page(
        request,
        "problem.html",
        status=400,
        title="This sign-in link is not valid",
        detail=detail,
        fix="Go back to the app and tell its developer; you cannot sign in with this link.",
    )


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _error_redirect(
    signin: SignIn, redirect_uri: str, error: OAuthError, state: str | None
) -> web.Response:
    """An error sent back to the verified redirect_uri, with state and iss."""
    params = {"error": error.error, "error_description": error.description}
    if state:
        params["state"] = state
    return _redirect(signin.response_url(redirect_uri, params))


def _not_a_page(request: web.Request) -> web.Response | None:
    """A browser loading the sign-in link as an image, script or style (a hostile page's
    `<img>`) is refused before anything is counted, fetched or stored."""
    destination = request.headers.get("Sec-Fetch-Dest")
    if destination is None or destination == "document":
        return None
    return page(
        request,
        "problem.html",
        status=400,
        title="Open this link as a page",
        detail="The sign-in link was loaded as part of another page.",
        fix="Go to the app you want to use and sign in there.",
    )


async def authorize_get(request: web.Request) -> web.StreamResponse:
    """Check the client's request; start a sign-in session."""
    refused = _not_a_page(request)
    if refused is not None:
        return refused
    async with _outside_world(request):
        return await _authorize(request)


@contextlib.asynccontextmanager
async def _outside_world(request: web.Request) -> AsyncIterator[None]:
    """While this request waits on DNS, web sites or SMTP: one of the client's few
    (gondulf.web.in_flight), and all of it within GONDULF_PAGE_TIMEOUT, so the person
    hears why before a proxy gives up on the page."""
    budget = request.app[SETTINGS].page_timeout
    with request.app[IN_FLIGHT].hold(address_key(client_ip(request))):
        try:
            async with asyncio.timeout(budget):
                yield
        except TimeoutError:
            raise SignInProblem(
                Problem.TOO_SLOW,
                "This took too long",
                f"Checking your website and its DNS, or sending the email, took more than "
                f"{budget:g} seconds.",
                "Try again in a minute; if it keeps happening, your website or DNS is slow "
                "to answer.",
                status=504,
            ) from None


async def _authorize(request: web.Request) -> web.StreamResponse:
    params = request.query
    if not params:
        return page(
            request,
            "problem.html",
            status=400,
            title="Start from an app",
            detail="This is the sign-in address apps send you to.",
            fix="Go to the app you want to use and sign in there with your website.",
        )
    try:
        client_id, redirect_uri = client_and_redirect(params)
    except InvalidURL as exc:
        return _invalid_link(request, exc.description)
    signin = _signin(request)
    await signin.admit(client_ip(request))  # before fetching anything for a stranger
    services = request.app[SERVICES]
    client = None
    try:
        client = await services.clients.get(client_id)
    except ClientInfoUnavailable as exc:
        log.info("client information unavailable: %s", exc)
        if redirect_uri_needs_client_info(client_id, redirect_uri):
            return _invalid_link(
                request,
                f"The app's redirect_uri {redirect_uri} is on another "
                f"host than {client_id}, and the app's page could not be "
                "loaded to check that it is registered.",
            )
    if not redirect_uri_allowed(client_id, redirect_uri, client):
        return _invalid_link(
            request, f"The app's redirect_uri {redirect_uri} is not one that {client_id} publishes."
        )
    try:
        auth_request = parse_request(
            params,
            client_id,
            redirect_uri,
            allow_no_pkce=signin.settings.allow_no_pkce,
            debug=signin.settings.debug,
        )
    except OAuthError as exc:
        return _error_redirect(signin, redirect_uri, exc, params.get("state"))
    return await start_sign_in(request, auth_request, client)


async def grants_sign_in(request: web.Request) -> web.Response:
    """GET /authorize/grants: the sign-in to Gondulf itself that opens the grants page."""
    refused = _not_a_page(request)
    if refused is not None:
        return refused
    issuer = request.app[SETTINGS].issuer
    grants_url = url_of(request, Name.GRANTS)
    await _signin(request).admit(client_ip(request))
    return await start_sign_in(
        request, grants_sign_in_request(issuer, grants_url), grants_client(issuer)
    )


async def start_sign_in(
    request: web.Request, auth_request: AuthorizationRequest, client: ClientInfo | None
) -> web.Response:
    """A new sign-in session (the caller admitted it), its cookie, and a redirect to its
    first page.

    A `me` hint is checked at once (DNS and homepage) so the person sees where
    the code would go, but nothing is sent until they ask on that page.
    """
    signin = _signin(request)
    session_id, session = await signin.start(auth_request, client)
    if auth_request.me_hint:
        try:
            await signin.identify(session, auth_request.me_hint)
        except SignInProblem as problem:
            count_problem(request, problem)
            note = Note.of(problem, time.time(), website=auth_request.me_hint)
            await signin.sessions.note(session, note)
    handle = _handle_of(request, session_id)
    response = see_other(request, Name.SIGNIN_STEP, handle=handle)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=SESSION_LIFETIME,
        path=path_of(request, Name.SIGNIN_STEP, handle=handle),
        httponly=True,
        samesite="Lax",
        secure=not request.app[SETTINGS].debug,
    )
    return response


def _handle_of(request: web.Request, session_id: str) -> str:
    """The sign-in's pages live below this; it names the session without revealing its id."""
    return keyed_digest(request.app[SETTINGS].secret_key, "sign-in pages " + session_id)[:16]


def _known_as(request: web.Request) -> str | None:
    value = request.cookies.get(KNOWN_COOKIE)
    return known_identity(request.app[SETTINGS].secret_key, value) if value else None


def _remember_browser(request: web.Request, response: web.StreamResponse, me: str) -> None:
    """After a right code: this browser has proved `me` (see services.known_browsers)."""
    settings = request.app[SETTINGS]
    response.set_cookie(
        KNOWN_COOKIE,
        known_browser_value(settings.secret_key, me),
        max_age=KNOWN_FOR,
        path=path_of(request, Name.AUTHORIZATION),
        httponly=True,
        samesite="Lax",
        secure=not settings.debug,
    )


async def cookie_session(request: web.Request, signin: SignIn) -> AuthSession:
    """The live sign-in session of this page's address, named by its cookie, or the
    "expired" page."""
    session_id = request.cookies.get(COOKIE, "")
    if not session_id or not same(_handle_of(request, session_id), request.match_info["handle"]):
        raise expired()
    session = await signin.sessions.get(session_id)
    if session is None:
        raise expired()
    return session


async def _stay(
    request: web.Request, signin: SignIn, session: AuthSession, note: Note | None
) -> web.Response:
    """After a form that leaves the person in the sign-in: `note` kept for its page, and
    a redirect there (a reload then shows the page again, sending nothing twice)."""
    current = await signin.sessions.reload(session)
    if current is None:
        raise expired()
    await signin.sessions.note(current, note)
    return see_other(request, Name.SIGNIN_STEP, handle=request.match_info["handle"])


async def form_session(request: web.Request, signin: SignIn, form: Form) -> AuthSession:
    """The session of a form posted on one of its pages: `cookie_session`, once the
    form's CSRF token matches it."""
    session = await cookie_session(request, signin)
    if not same(form.get("csrf", ""), session.csrf):
        raise SignInProblem(
            Problem.CSRF,
            "This form has expired",
            "The page was sent from an older or another sign-in, or from another site.",
            "Go back to the app and sign in again.",
            status=403,
        )
    return session


# What a form does: leave the sign-in (a redirect to the app or the grants page), or stay
# in it with what its page should say about the form.
Outcome = web.Response | Note | None
FormHandler = Callable[[web.Request, SignIn, AuthSession, Form], Awaitable[Outcome]]


def sign_in_form(handler: FormHandler) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A POST of a sign-in page: its session, once the form's CSRF token matches it.

    Every form that does not leave the sign-in answers with a redirect to the page of
    its current step, which shows what happened: a problem (a limit, a failed email, a
    website that is not set up, a race with another window) or a notice.
    """

    async def handle(request: web.Request) -> web.Response:
        form = await read_form(request)
        signin = _signin(request)
        session = await form_session(request, signin, form)
        try:
            outcome = await handler(request, signin, session, form)
        except SignInProblem as problem:
            if problem.kind == Problem.EXPIRED:
                raise
            count_problem(request, problem)
            outcome = Note.of(problem, time.time())
        if isinstance(outcome, web.Response):
            return outcome
        return await _stay(request, signin, session, outcome)

    return handle


def field(form: Form, name: str) -> str:
    return form.get(name, "").strip()


async def step_get(request: web.Request) -> web.Response:
    """The page of the step the sign-in is at, with what the last form led to."""
    signin = _signin(request)
    return await page_for(request, await cookie_session(request, signin))


async def to_step(request: web.Request) -> web.Response:
    """A form's address opened as a page (a restored tab): the current step's page."""
    return see_other(request, Name.SIGNIN_STEP, handle=request.match_info["handle"])


async def website_get(request: web.Request) -> web.Response:
    """ "Use another website": the first step's page again."""
    signin = _signin(request)
    return website_page(request, await cookie_session(request, signin))


@sign_in_form
async def website_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    website = field(form, "me")
    try:
        await signin.admit(client_ip(request))  # each website checked counts as a sign-in
        async with _outside_world(request):
            await signin.identify(session, website)
    except SignInProblem as problem:
        if problem.kind == Problem.CHANGED:
            raise
        count_problem(request, problem)
        return Note.of(problem, time.time(), website=website)
    return None


@sign_in_form
async def email_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    """The person pressed "send my code" (picking an address when there are several)."""
    state = email_state(session)
    emails = state.emails if state else ()
    try:
        email = emails[int(field(form, "email"))]
    except (ValueError, IndexError):
        email = ""
    await _send(request, signin, session, email)
    return None


@sign_in_form
async def resend_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    state = email_state(session)
    email = state.email if state and state.email else ""
    await _send(request, signin, session, email)
    return Note.notice("A new code is on its way.")


async def _send(request: web.Request, signin: SignIn, session: AuthSession, email: str) -> None:
    async with _outside_world(request):
        await signin.email_code.send_code(
            session, email, client_ip(request), known_as=_known_as(request)
        )


@sign_in_form
async def code_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    code = "".join(field(form, "code").split())
    result, session = await signin.email_code.check_code(session, code, client_ip(request))
    if result == CodeCheck.RIGHT:
        assert session.me is not None
        proven = email_state(session)
        await request.app[SERVICES].passkeys.email_proven(
            session.me, email=proven.email if proven and proven.email else ""
        )  # a passkey added now is bound to this address
        if is_grants_sign_in(request, session):
            response = await open_grants(request, signin, session)
        else:
            response = await _stay(request, signin, session, None)
        _remember_browser(request, response, session.me)
        return response
    state = email_state(session)
    if result == CodeCheck.WRONG:
        left = MAX_CODE_ATTEMPTS - (state.attempts if state else 0)
        return Note(
            "wrong-code",
            "That code is not right",
            f"{left} {'try' if left == 1 else 'tries'} left for this code.",
            status=400,
        )
    if state is None or state.email is None:  # the website changed since the code was sent
        return Note("no-code", "No code has been sent for this website yet", status=400)
    if result == CodeCheck.EXHAUSTED:
        return Note(
            "code-used-up",
            "That code is not right either",
            "Wrong codes were entered, so this code no longer works.",
            "Send a new code.",
            status=400,
        )
    return Note(
        "code-expired",
        "That code no longer works",
        "It has expired or was already used.",
        "Send a new code.",
        status=400,
    )


@sign_in_form
async def consent_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    if field(form, "action") != "approve":
        return await _cancel(request, signin, session)
    kept = form.getall("scope") if "scope" in form else []
    return _finished(request, _redirect(await signin.approve(session, kept)))


def _finished(request: web.Request, response: web.Response) -> web.Response:
    """The sign-in is over: its cookie goes too."""
    handle = request.match_info["handle"]
    response.del_cookie(COOKIE, path=path_of(request, Name.SIGNIN_STEP, handle=handle))
    return response


@sign_in_form
async def cancel_post(
    request: web.Request, signin: SignIn, session: AuthSession, form: Form
) -> Outcome:
    return await _cancel(request, signin, session)


async def _cancel(request: web.Request, signin: SignIn, session: AuthSession) -> web.Response:
    """The person changed their mind: the app hears `access_denied` (with its state and
    `iss`) at its verified redirect_uri; a sign-in to the grants page goes home."""
    await signin.deny(session)
    if is_grants_sign_in(request, session):
        return _finished(request, see_other(request, Name.HOME))
    return _finished(
        request,
        _error_redirect(
            signin,
            session.request.redirect_uri,
            AccessDenied("the person cancelled the sign-in"),
            session.request.state,
        ),
    )
