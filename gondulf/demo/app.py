"""The demo app: a start page, the sign-in sent to Gondulf, and the page it comes back to.

Its client_id is its own start page, `http://localhost:PORT/`: a browser reaches
it, and Gondulf fetches its client metadata document from it (the same URL
answers JSON to a request that prefers JSON). The page it comes back to
redeems the code, confirms `me`, and calls introspection and userinfo with
the token, showing every answer.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from gondulf.demo import client
from gondulf.demo.client import ClientProblem, Server
from gondulf.indieauth.urls import InvalidURL, canonical_profile_url
from gondulf.services.outside.fetch import Fetcher
from gondulf.templating import render

log = logging.getLogger("gondulf.demo.app")

COOKIE = "gondulf_demo_app"
SCOPE = "profile email"
PENDING_LIFETIME = 600.0  # seconds a sign-in may take, as long as Gondulf's codes live
MAX_PENDING = 50
MAX_FORM_BYTES = 16 * 1024
TOKENS = ("access_token", "refresh_token")


@dataclass(frozen=True)
class AppIdentity:
    url: str  # the client_id and start page, ending in /
    name: str
    me: str  # the profile URL the start page offers

    @property
    def redirect_uri(self) -> str:
        return self.url + "callback"

    def metadata(self) -> dict[str, Any]:
        """The client metadata document (IndieAuth §4.2.1)."""
        return {
            "client_id": self.url,
            "client_name": self.name,
            "client_uri": self.url,
            "redirect_uris": [self.redirect_uri],
        }


@dataclass(frozen=True)
class Pending:
    """A sign-in sent to the server, waiting for the browser to come back."""

    browser: str  # the app's cookie in the browser that started it
    me: str
    server: Server
    verifier: str
    started: float


@dataclass(frozen=True)
class SignedIn:
    """What the app learned, for its page."""

    me: str
    server: Server
    tokens: str  # the token response as shown: JSON, tokens shortened
    introspection: client.Answer | None
    userinfo: client.Answer | None


@dataclass
class PendingSignIns:
    """By state; each used once, by the browser that started it, within its lifetime."""

    by_state: dict[str, Pending] = field(default_factory=dict)

    def add(self, state: str, pending: Pending) -> None:
        for old in [s for s, p in self.by_state.items() if self._expired(p, pending.started)]:
            del self.by_state[old]
        while len(self.by_state) >= MAX_PENDING:
            del self.by_state[next(iter(self.by_state))]
        self.by_state[state] = pending

    def take(self, state: str, browser: str, now: float) -> Pending | None:
        pending = self.by_state.get(state)
        if pending is None or not secrets.compare_digest(pending.browser, browser):
            return None
        del self.by_state[state]
        return None if self._expired(pending, now) else pending

    @staticmethod
    def _expired(pending: Pending, now: float) -> bool:
        return now - pending.started > PENDING_LIFETIME


def prefers_json(accept: str) -> bool:
    """True when an Accept header ranks application/json above text/html."""
    return _quality(accept, "application/json") > _quality(accept, "text/html")


def _quality(accept: str, media_type: str) -> float:
    """The q of the most specific range in `accept` matching `media_type` (RFC 9110 §12.5.1)."""
    kind = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for item in accept.split(","):
        media, *params = (part.strip().lower() for part in item.split(";"))
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(media)
        if specificity is None or specificity < best[0]:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best = (specificity, quality)
    return best[1]


class DemoApp:
    def __init__(
        self, identity: AppIdentity, fetcher: Fetcher, session: aiohttp.ClientSession
    ) -> None:
        self.identity = identity
        self.fetcher = fetcher  # for discovery, through the demo's DNS
        self.session = session  # for the server's endpoints
        self.pending = PendingSignIns()

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_FORM_BYTES)
        app.router.add_get("/", self.start_page)
        app.router.add_post("/start", self.start)
        app.router.add_get("/callback", self.callback)
        return app

    def page(self, template: str, *, status: int = 200, **context: object) -> web.Response:
        html = render(f"demo/{template}", app=self.identity, **context)
        return web.Response(
            text=html,
            status=status,
            content_type="text/html",
            headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
        )

    def problem(self, status: int, title: str, detail: str) -> web.Response:
        log.info("%s: %s", title, detail)
        return self.page("problem.html", status=status, title=title, detail=detail)

    async def start_page(self, request: web.Request) -> web.Response:
        if prefers_json(request.headers.get("Accept", "")):
            log.info("client metadata read by %s", request.headers.get("User-Agent", "?"))
            return web.json_response(self.identity.metadata())
        return self.page("start.html", me=self.identity.me)

    async def start(self, request: web.Request) -> web.Response:
        typed = str((await request.post()).get("me", ""))
        try:
            me = canonical_profile_url(typed, debug=True)
        except InvalidURL as exc:
            return self.problem(400, "That is not a website address", exc.description)
        try:
            server = await client.discover(self.fetcher, me)
        except ClientProblem as exc:
            return self.problem(502, "No IndieAuth server found", str(exc))
        log.info("%s uses the IndieAuth server %s", me, server.issuer)
        sent = client.authorization(
            server,
            client_id=self.identity.url,
            redirect_uri=self.identity.redirect_uri,
            me=me,
            scope=SCOPE,
        )
        browser = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
        self.pending.add(sent.state, Pending(browser, me, server, sent.verifier, time.time()))
        response = web.Response(status=303, headers={"Location": sent.url})
        response.set_cookie(COOKIE, browser, path="/", httponly=True, samesite="Lax")
        return response

    async def callback(self, request: web.Request) -> web.Response:
        query = request.query
        pending = self.pending.take(
            query.get("state", ""), request.cookies.get(COOKIE, ""), time.time()
        )
        if pending is None:
            return self.problem(
                400,
                "This sign-in is unknown to the app",
                "It finished already, took longer than ten minutes, or began in another "
                "browser. Start again.",
            )
        try:
            code = client.code_from_redirect(query, pending.server)
            signed_in = await self.finish(pending, code)
        except ClientProblem as exc:
            return self.problem(400, "The sign-in did not finish", str(exc))
        return self.page("signed_in.html", signed_in=signed_in, pretty=pretty)

    async def finish(self, pending: Pending, code: str) -> SignedIn:
        """Redeem the code, confirm who signed in, and use the token once each way."""
        server = pending.server
        tokens = await client.redeem(
            self.session,
            server,
            code=code,
            client_id=self.identity.url,
            redirect_uri=self.identity.redirect_uri,
            verifier=pending.verifier,
        )
        log.info("the token endpoint signed in %s", tokens["me"])
        await client.confirm_me(self.fetcher, tokens["me"], pending.me, server)
        token = tokens["access_token"]
        introspection = await client.with_token(
            self.session, "POST", server.introspection_endpoint, token, data={"token": token}
        )
        userinfo = await client.with_token(self.session, "GET", server.userinfo_endpoint, token)
        return SignedIn(tokens["me"], server, shown(tokens), introspection, userinfo)


def shown(body: dict[str, Any]) -> str:
    """A JSON answer for the page, tokens shortened: the page is no place for a whole one."""
    visible = {
        key: f"{value[:6]}… ({len(value)} characters)"
        if key in TOKENS and isinstance(value, str)
        else value
        for key, value in body.items()
    }
    return pretty(visible)


def pretty(body: object) -> str:
    return json.dumps(body, indent=2, ensure_ascii=False)
