"""The sign-in: prove the domain by DNS and the person by an emailed code, then consent.

Each failure is a SignInProblem naming what went wrong and the exact fix, so
the page shown to the person can tell them what to do. The DNS proof may be
remembered; the emailed code never is: it proves the person at every sign-in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from gondulf.indieauth.responses import add_query
from gondulf.indieauth.scopes import narrow
from gondulf.indieauth.urls import InvalidURL, canonical_profile_url, domain_of
from gondulf.services.authorization_codes import AuthorizationCodeStore
from gondulf.services.digests import new_code
from gondulf.services.discovery import HCard, discover_homepage, same_host
from gondulf.services.dns import VERIFY_VALUE, verification_name
from gondulf.services.email import EmailError, code_message
from gondulf.services.fetch import FetchError
from gondulf.services.rate_limits import RateLimiter
from gondulf.services.runtime import Services
from gondulf.services.sessions import AuthSession, AuthSessionStore

log = logging.getLogger("gondulf.signin")

CODES_PER_DOMAIN = 3
CODES_WINDOW = 3600


@dataclass(frozen=True)
class SignInProblem(Exception):
    """Something the person (or their website) must fix before signing in."""

    kind: str
    title: str
    detail: str
    fix: str | None = None
    status: int = 400


def _profile(hcard: HCard | None, me: str) -> dict[str, Any]:
    profile: dict[str, Any] = {"url": me}
    if hcard is not None:
        if hcard.name:
            profile["name"] = hcard.name
        if hcard.photo and urlsplit(hcard.photo).scheme in ("http", "https"):
            profile["photo"] = hcard.photo
        if hcard.url and urlsplit(hcard.url).scheme in ("http", "https"):
            profile["url"] = hcard.url
    return profile


class SignIn:
    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.sessions = AuthSessionStore(services.db, services.settings.secret_key)
        self.codes = AuthorizationCodeStore(services.db)
        self.limits = RateLimiter(services.db)

    async def identify(self, session: AuthSession, website: str) -> AuthSession:
        """Check the website the person gave: its homepage, its rel=me email and DNS."""
        try:
            me = canonical_profile_url(website, debug=self.settings.debug)
        except InvalidURL as exc:
            raise SignInProblem("bad-website", "That is not a website address", str(exc),
                                "Enter the address of your homepage, such as example.com."
                                ) from exc
        domain = domain_of(me)
        verified, proof = await self.services.domains.check(self.services.dns, domain)
        if not verified:
            if proof is not None and proof.lookup_failed:
                raise SignInProblem("dns-failed", "Your domain could not be checked",
                                    f"DNS did not answer: {proof.txt.describe}.",
                                    "Try again in a minute.", status=503)
            raise SignInProblem(
                "no-dns-record", "Your domain is not set up for this server",
                f"{domain} has no TXT record proving it may sign in here.",
                f'{verification_name(domain)}.  IN  TXT  "{VERIFY_VALUE}"')
        try:
            homepage = await discover_homepage(self.services.fetcher, me)
        except FetchError as exc:
            raise SignInProblem("homepage-unreachable", "Your homepage could not be loaded",
                                f"{me} could not be fetched: {exc}",
                                f"Make sure {me} answers with your homepage over https.",
                                status=502) from exc
        identity = me
        if same_host(homepage.url, me):
            try:
                identity = canonical_profile_url(homepage.url, debug=self.settings.debug)
            except InvalidURL:
                identity = me
        if not homepage.emails:
            raise SignInProblem("no-email", "Your homepage links no email address",
                                f"{homepage.url} has no rel=\"me\" mailto: link, so there is "
                                "nowhere to send your sign-in code.",
                                f'<link rel="me" href="mailto:you@{domain}">')
        updated = await self.sessions.set_identity(session, identity, homepage.emails,
                                                   _profile(homepage.hcard, identity))
        if updated is None:
            raise expired()
        return updated

    async def send_code(self, session: AuthSession, email: str) -> AuthSession:
        """Email a new 6-digit code to one of the addresses the homepage lists."""
        if session.me is None or email not in session.emails:
            raise SignInProblem("bad-email", "Pick one of the listed addresses",
                                "The address chosen is not one your homepage lists.")
        domain = domain_of(session.me)
        if not await self.limits.acquire(f"codes-sent:{domain}", CODES_PER_DOMAIN,
                                         CODES_WINDOW):
            wait = await self.limits.retry_after(f"codes-sent:{domain}", CODES_WINDOW)
            raise SignInProblem("too-many-codes", "Too many codes sent",
                                f"{CODES_PER_DOMAIN} codes were already sent for {domain} in "
                                "the last hour.",
                                f"Wait {max(1, wait // 60)} minute(s) and try again.",
                                status=429)
        code = new_code()
        updated = await self.sessions.set_code(session, email, code, self.settings.code_expiry)
        if updated is None:
            raise expired()
        client = session.client.name if session.client and session.client.name else \
            session.request.client_id
        message = code_message(
            sender=self.settings.smtp.from_address, recipient=email, code=code,
            me=session.me, issuer=self.settings.issuer,
            minutes=self.settings.code_expiry // 60, client=client)
        try:
            await self.services.email.send(message)
        except EmailError as exc:
            log.error("sign-in code for %s could not be sent: %s", domain, exc)
            raise SignInProblem("email-failed", "The code could not be sent",
                                f"Sending the email to {email} failed.",
                                "Try again in a few minutes; if it keeps failing, tell the "
                                "operator of this server.", status=502) from exc
        return updated

    async def approve(self, session: AuthSession, kept_scopes: list[str]) -> str:
        """Issue the authorization code; returns the redirect URL for the client."""
        if not session.verified or session.me is None:
            raise SignInProblem("not-verified", "Enter your code first",
                                "This sign-in has not been confirmed with an emailed code.")
        request = session.request
        scope = narrow(request.scope, kept_scopes)
        profile = dict(session.profile or {"url": session.me})
        if "email" in scope and session.email:
            profile["email"] = session.email
        code = await self.codes.issue(request, session.me, scope, profile,
                                      self.settings.code_expiry,
                                      client_name=session.client.name if session.client else None)
        await self.sessions.delete(session)
        log.info("sign-in approved for %s to %s", session.me, request.client_id)
        return self.response_url(request.redirect_uri, {"code": code, "state": request.state})

    def response_url(self, redirect_uri: str, params: dict[str, str]) -> str:
        """The redirect back to the client, always with `iss` (RFC 9207)."""
        return add_query(redirect_uri, {**params, "iss": self.settings.issuer})


def expired() -> SignInProblem:
    return SignInProblem("expired", "This sign-in has expired",
                         "It took too long, or it was finished or restarted in another window.",
                         "Go back to the app and sign in again.")
