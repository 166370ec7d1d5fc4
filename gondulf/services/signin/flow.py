"""The sign-in: prove the domain by DNS, the person by a proof method, then consent.

Each failure is a SignInProblem naming what went wrong and the exact fix, so
the page shown to the person can tell them what to do. The DNS proof may be
remembered; the person's proof (the emailed code, email_code.py) never is: it
proves the person at every sign-in.

Every step reads the session, decides, and writes with a compare-and-set on
what it read (AuthSessionStore.update): when two requests race on one
session, one of them finds it changed and writes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from gondulf.config import Settings
from gondulf.indieauth.clients import ClientInfo
from gondulf.indieauth.request import AuthorizationRequest
from gondulf.indieauth.responses import add_query
from gondulf.indieauth.scopes import narrow
from gondulf.indieauth.urls import InvalidURL, canonical_profile_url, domain_of
from gondulf.services.domains import DomainService
from gondulf.services.metrics import Metrics
from gondulf.services.outside.dns import VERIFY_VALUE, verification_name
from gondulf.services.outside.fetch import (
    AddressNotAllowed,
    BadStatus,
    Fetcher,
    FetchError,
    FetchTimeout,
    ResponseTooLarge,
    TooManyRedirects,
)
from gondulf.services.outside.homepage import HCard, Homepage, discover_homepage, same_host
from gondulf.services.rate_limits import AbuseLimits, RateLimiter, address_key
from gondulf.services.signin.email_code import EmailCodeMethod, EmailProof, email_state
from gondulf.services.signin.problems import Problem, SignInProblem, minutes
from gondulf.services.signin.sessions import AuthSession, AuthSessionStore
from gondulf.services.tokens.authorization_codes import AuthorizationCodeService
from gondulf.storage.records import Refused

log = logging.getLogger("gondulf.signin")


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


def _unreachable(me: str, error: FetchError) -> tuple[str, str]:
    """What went wrong loading the homepage, in plain words, and the advice that fits."""
    if isinstance(error, BadStatus):
        return (
            f"{me} answered with an error (HTTP {error.status}) instead of your homepage.",
            f"Open {me} in a browser: it should show your homepage. If it shows an error, "
            "fix your website (or ask whoever hosts it), then try again.",
        )
    if isinstance(error, FetchTimeout):
        return (
            f"{me} took too long to answer.",
            "Make sure your website is up and answers quickly, then try again.",
        )
    if isinstance(error, AddressNotAllowed):
        return (
            f"{domain_of(me)} points at a private or reserved network address, which this "
            "server never visits.",
            f"Point the DNS records of {domain_of(me)} at your website's public address.",
        )
    if isinstance(error, ResponseTooLarge | TooManyRedirects):
        return (
            f"{me} is too large, or redirects too many times, to be read as a homepage.",
            "Serve a homepage of ordinary size at that address, with at most a few redirects.",
        )
    return (
        f"Nothing answered at {me}.",
        f"Make sure your website is online and answers at {me} "
        f"({'https with a valid certificate' if me.startswith('https:') else 'http'}).",
    )


class SignIn:
    def __init__(
        self,
        settings: Settings,
        *,
        sessions: AuthSessionStore,
        codes: AuthorizationCodeService,
        limiter: RateLimiter,
        limits: AbuseLimits,
        domains: DomainService,
        fetcher: Fetcher,
        email_code: EmailCodeMethod,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.codes = codes
        self.limiter = limiter
        self.limits = limits
        self.domains = domains
        self.fetcher = fetcher
        self.email_code = email_code  # the proof method: sends and checks codes
        self.metrics = metrics

    async def admit(self, client_ip: str) -> None:
        """Count a sign-in started from `client_ip`, or refuse it over the limit."""
        outcome = await self.limiter.acquire([(self.limits.signins_per_ip, address_key(client_ip))])
        if isinstance(outcome, Refused):
            raise SignInProblem(
                Problem.TOO_MANY_SIGNINS,
                "Too many sign-ins started",
                f"{outcome.limit.count} sign-ins were already started from your network in "
                "the last hour.",
                f"Wait {minutes(outcome.retry_after)} and try again.",
                status=429,
                retry_after=outcome.retry_after,
            )

    async def start(
        self, request: AuthorizationRequest, client: ClientInfo | None
    ) -> tuple[str, AuthSession]:
        """A new sign-in (the caller admitted it): the session id for the cookie, the session."""
        started = await self.sessions.create(request, client)
        self.metrics.signin_started()
        return started

    async def identify(self, session: AuthSession, website: str) -> AuthSession:
        """Check the website the person gave: DNS, its homepage and its rel=me addresses.

        Nothing is sent: the person asks for the code on the next page.
        """
        try:
            typed = canonical_profile_url(website, debug=self.settings.debug)
        except InvalidURL as exc:
            raise SignInProblem(
                Problem.BAD_WEBSITE,
                "That is not a website address",
                str(exc),
                "Enter the address of your homepage, such as example.com.",
            ) from exc
        await self._prove_domain(domain_of(typed))
        homepage = await self._homepage(typed)
        me = self._identity(typed, homepage)
        if domain_of(me) != domain_of(typed):
            await self._prove_domain(domain_of(me))  # a permanent move to another host
        if not homepage.emails:
            raise SignInProblem(
                Problem.NO_EMAIL,
                "Your homepage links no email address",
                f'{homepage.url} has no rel="me" mailto: link, so there is '
                "nowhere to send your sign-in code.",
                f'<link rel="me" href="mailto:you@{domain_of(me)}">',
            )
        state = email_state(session)
        sent = state.codes_sent if state else 0  # a sign-in's codes, whatever the website
        identified = replace(
            session,
            me=me,
            profile=_profile(homepage.hcard, me),
            proof=EmailProof(homepage.emails, codes_sent=sent),
            verified=False,
        )
        return await self.sessions.update(session, identified)

    async def _prove_domain(self, domain: str) -> None:
        verified, proof = await self.domains.check(domain)
        if verified:
            return
        if proof is not None and proof.lookup_failed:
            raise SignInProblem(
                Problem.DNS_FAILED,
                "Your domain could not be checked",
                f"The DNS servers for {domain} did not answer the question whether it may "
                "sign in here.",
                "Try again in a minute.",
                status=503,
                technical=proof.txt.describe,
            )
        raise SignInProblem(
            Problem.NO_DNS_RECORD,
            "Your domain is not set up for this server",
            f"{domain} has no TXT record proving it may sign in here.",
            f'{verification_name(domain)}.  IN  TXT  "{VERIFY_VALUE}"',
        )

    async def _homepage(self, me: str) -> Homepage:
        try:
            return await discover_homepage(self.fetcher, me)
        except FetchError as exc:
            detail, fix = _unreachable(me, exc)
            raise SignInProblem(
                Problem.HOMEPAGE_UNREACHABLE,
                "Your homepage could not be loaded",
                detail,
                fix,
                status=502,
                technical=str(exc),
            ) from exc

    def _identity(self, typed: str, homepage: Homepage) -> str:
        """The profile URL after redirects, whose own host must serve the page read."""
        try:
            me = canonical_profile_url(homepage.profile_url(typed), debug=self.settings.debug)
        except InvalidURL as exc:
            raise SignInProblem(
                Problem.BAD_REDIRECT,
                "Your homepage moved to an address that cannot be an identity",
                f"{typed} redirects permanently to {homepage.url}: {exc}",
                "Redirect to an https address on a domain name, or serve "
                "your homepage where it is.",
            ) from exc
        if not same_host(homepage.url, me):
            raise SignInProblem(
                Problem.HOMEPAGE_ELSEWHERE,
                "Your homepage is on another site",
                f"{me} redirects (temporarily) to {homepage.url}. Your email address is read "
                f"only from a page on {domain_of(me)} itself.",
                f"Serve your homepage on {domain_of(me)}, or redirect permanently (301 or "
                f"308) to make {homepage.url} your address.",
            )
        return me

    async def approve(self, session: AuthSession, kept_scopes: list[str]) -> str:
        """Issue the authorization code; returns the redirect URL for the client."""
        me = self._verified_identity(session)
        await self.sessions.end(session)
        request = session.request
        scope = narrow(request.scope, kept_scopes)
        profile = dict(session.profile or {"url": me})
        if "email" in scope and session.proof is not None and session.proof.email:
            profile["email"] = session.proof.email  # the address the person proved
        code = await self.codes.issue(
            request,
            me,
            scope,
            profile,
            self.settings.code_expiry,
            client_name=session.client.name if session.client else None,
        )
        log.info("sign-in approved for %s to %s", me, request.client_id)
        self.metrics.signin_completed()
        return self.response_url(request.redirect_uri, {"code": code, "state": request.state})

    async def finish(self, session: AuthSession) -> str:
        """End a verified sign-in without a code (the grants page); returns the identity."""
        me = self._verified_identity(session)
        await self.sessions.end(session)
        self.metrics.signin_completed()
        return me

    async def deny(self, session: AuthSession) -> None:
        await self.sessions.end(session)

    def _verified_identity(self, session: AuthSession) -> str:
        if not session.verified or session.me is None:
            raise SignInProblem(
                Problem.NOT_VERIFIED,
                "Enter your code first",
                "This sign-in has not been confirmed with an emailed code.",
            )
        return session.me

    def response_url(self, redirect_uri: str, params: dict[str, str]) -> str:
        """The redirect back to the client, always with `iss` (RFC 9207)."""
        return add_query(redirect_uri, {**params, "iss": self.settings.issuer})
