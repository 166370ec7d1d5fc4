"""The sign-in: prove the domain by DNS and the person by an emailed code, then consent.

Each failure is a SignInProblem naming what went wrong and the exact fix, so
the page shown to the person can tell them what to do. The DNS proof may be
remembered; the emailed code never is: it proves the person at every sign-in.

Every step reads the session, decides, and writes with a compare-and-set on
what it read (AuthSessionStore.save): when two requests race on one session,
one of them finds it changed and writes nothing. A code is sent only when the
person asks for it on Gondulf's own page, and each party's sending is limited
on its own, so nobody can spend another's codes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from gondulf.config import Settings
from gondulf.indieauth.responses import add_query
from gondulf.indieauth.scopes import narrow
from gondulf.indieauth.urls import InvalidURL, canonical_profile_url, domain_of
from gondulf.services.digests import new_code
from gondulf.services.domains import DomainService
from gondulf.services.outside.dns import VERIFY_VALUE, verification_name
from gondulf.services.outside.email import EmailError, EmailSender, code_message
from gondulf.services.outside.fetch import Fetcher, FetchError
from gondulf.services.outside.homepage import HCard, Homepage, discover_homepage, same_host
from gondulf.services.rate_limits import AbuseLimits, RateLimiter, address_key
from gondulf.services.signin.email_proof import MAX_CODE_ATTEMPTS, CodeCheck, EmailProof
from gondulf.services.signin.sessions import AuthSession, AuthSessionStore
from gondulf.services.tokens.authorization_codes import AuthorizationCodeService
from gondulf.storage.records import Counted, Refused

log = logging.getLogger("gondulf.signin")


@dataclass(eq=False)  # not frozen: raising sets __traceback__ on the instance
class SignInProblem(Exception):
    """Something the person (or their website) must fix before signing in.

    `in_place` problems leave the sign-in where it was: the page of its current
    step is shown again with the problem, so a person is never stranded.
    """

    kind: str
    title: str
    detail: str
    fix: str | None = None
    status: int = 400
    retry_after: int | None = None
    in_place: bool = False


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


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


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
        email: EmailSender,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.codes = codes
        self.limiter = limiter
        self.limits = limits
        self.domains = domains
        self.fetcher = fetcher
        self.email = email

    async def admit(self, client_ip: str) -> None:
        """Count a sign-in started from `client_ip`, or refuse it over the limit."""
        outcome = await self.limiter.acquire([(self.limits.signins_per_ip, address_key(client_ip))])
        if isinstance(outcome, Refused):
            raise SignInProblem(
                "too-many-signins",
                "Too many sign-ins started",
                f"{outcome.limit.count} sign-ins were already started from your network in "
                "the last hour.",
                f"Wait {_minutes(outcome.retry_after)} and try again.",
                status=429,
                retry_after=outcome.retry_after,
            )

    async def identify(self, session: AuthSession, website: str) -> AuthSession:
        """Check the website the person gave: DNS, its homepage and its rel=me addresses.

        Nothing is sent: the person asks for the code on the next page.
        """
        try:
            typed = canonical_profile_url(website, debug=self.settings.debug)
        except InvalidURL as exc:
            raise SignInProblem(
                "bad-website",
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
                "no-email",
                "Your homepage links no email address",
                f'{homepage.url} has no rel="me" mailto: link, so there is '
                "nowhere to send your sign-in code.",
                f'<link rel="me" href="mailto:you@{domain_of(me)}">',
            )
        sent = session.proof.codes_sent if session.proof else 0  # a sign-in's, whatever site
        identified = replace(
            session,
            me=me,
            profile=_profile(homepage.hcard, me),
            proof=EmailProof(homepage.emails, codes_sent=sent),
            verified=False,
        )
        return await self._save(session, identified)

    async def _prove_domain(self, domain: str) -> None:
        verified, proof = await self.domains.check(domain)
        if verified:
            return
        if proof is not None and proof.lookup_failed:
            raise SignInProblem(
                "dns-failed",
                "Your domain could not be checked",
                f"DNS did not answer: {proof.txt.describe}.",
                "Try again in a minute.",
                status=503,
            )
        raise SignInProblem(
            "no-dns-record",
            "Your domain is not set up for this server",
            f"{domain} has no TXT record proving it may sign in here.",
            f'{verification_name(domain)}.  IN  TXT  "{VERIFY_VALUE}"',
        )

    async def _homepage(self, me: str) -> Homepage:
        try:
            return await discover_homepage(self.fetcher, me)
        except FetchError as exc:
            raise SignInProblem(
                "homepage-unreachable",
                "Your homepage could not be loaded",
                f"{me} could not be fetched: {exc}",
                f"Make sure {me} answers with your homepage over https.",
                status=502,
            ) from exc

    def _identity(self, typed: str, homepage: Homepage) -> str:
        """The profile URL after redirects, whose own host must serve the page read."""
        try:
            me = canonical_profile_url(homepage.profile_url(typed), debug=self.settings.debug)
        except InvalidURL as exc:
            raise SignInProblem(
                "bad-redirect",
                "Your homepage moved to an address that cannot be an identity",
                f"{typed} redirects permanently to {homepage.url}: {exc}",
                "Redirect to an https address on a domain name, or serve "
                "your homepage where it is.",
            ) from exc
        if not same_host(homepage.url, me):
            raise SignInProblem(
                "homepage-elsewhere",
                "Your homepage is on another site",
                f"{me} redirects (temporarily) to {homepage.url}. Your email address is read "
                f"only from a page on {domain_of(me)} itself.",
                f"Serve your homepage on {domain_of(me)}, or redirect permanently (301 or "
                f"308) to make {homepage.url} your address.",
            )
        return me

    async def send_code(
        self, session: AuthSession, email: str, client_ip: str, *, known_as: str | None = None
    ) -> AuthSession:
        """Email a new 6-digit code to one of the addresses the homepage lists.

        The code is stored (bound to this identity and address) before it is
        sent; a send that fails takes it back, and gives back the sending limits.
        A browser `known_as` this identity skips the limits all parties share.
        """
        proof = session.proof
        if session.me is None or proof is None or email not in proof.emails:
            raise SignInProblem(
                "bad-email",
                "Pick one of the listed addresses",
                "The address chosen is not one your homepage lists.",
                in_place=True,
            )
        if proof.codes_sent >= self.limits.codes_per_session:
            raise SignInProblem(
                "too-many-codes",
                "Too many codes for this sign-in",
                f"{proof.codes_sent} codes were already sent for this sign-in.",
                "Use the last code sent, or start again from the app.",
                status=429,
                in_place=True,
            )
        counted = await self._count_code(
            session.me, email, client_ip, shared=known_as != session.me
        )
        code = new_code()
        expires_at = int(time.time()) + self.settings.code_expiry
        with_code = replace(
            session,
            proof=proof.with_code(self.settings.secret_key, session.me, email, code, expires_at),
        )
        try:
            saved = await self._save(session, with_code)
        except SignInProblem:
            await self.limiter.refund(counted)
            raise
        try:
            await self.email.send(self._message(saved, email, code))
        except EmailError as exc:
            log.error("sign-in code for %s could not be sent: %s", domain_of(session.me), exc)
            await self.limiter.refund(counted)
            await self.sessions.save(saved, replace(saved, proof=proof))  # the code before
            raise SignInProblem(
                "email-failed",
                "The code could not be sent",
                f"Sending the email to {email} failed.",
                "Try again in a few minutes; if it keeps failing, tell the "
                "operator of this server.",
                status=502,
                in_place=True,
            ) from exc
        return saved

    async def _count_code(self, me: str, email: str, client_ip: str, *, shared: bool) -> Counted:
        checks = [(self.limits.codes_per_ip, address_key(client_ip))]
        if shared:
            checks += [
                (self.limits.codes_per_address, email.lower()),
                (self.limits.codes_per_domain, domain_of(me)),
            ]
        outcome = await self.limiter.acquire(checks)
        if isinstance(outcome, Counted):
            return outcome
        who = {
            "codes-per-ip": "from your network",
            "codes-per-address": "to this address",
            "codes-per-domain": f"for {domain_of(me)}",
        }[outcome.limit.name]
        raise SignInProblem(
            "too-many-codes",
            "Too many codes sent",
            f"{outcome.limit.count} codes were already sent {who} in the last hour.",
            f"Wait {_minutes(outcome.retry_after)} and ask for a new code; "
            "a code you already have keeps working until it expires.",
            status=429,
            retry_after=outcome.retry_after,
            in_place=True,
        )

    def _message(self, session: AuthSession, email: str, code: str) -> Any:
        assert session.me is not None
        # The app is named by its address only: its name is text of its own choosing, and
        # this email may reach anyone a stranger's homepage lists.
        client = urlsplit(session.request.client_id).netloc
        return code_message(
            sender=self.settings.smtp.from_address,
            recipient=email,
            code=code,
            me=session.me,
            issuer=self.settings.issuer,
            minutes=self.settings.code_expiry // 60,
            client=client,
        )

    async def check_code(
        self, session: AuthSession, code: str, client_ip: str
    ) -> tuple[CodeCheck, AuthSession]:
        """Spend one of the code's tries, then compare in constant time.

        The try is written (compare-and-set) before comparing, so concurrent
        guesses cannot exceed the limit; a right code verifies the session only
        if nothing changed since, and is used up by it. Past the client's
        limit of wrong codes, a wrong code ends the code at once.
        """
        proof = session.proof
        now = time.time()
        if session.me is None or proof is None or not proof.code_live(now):
            exhausted = proof is not None and proof.attempts >= MAX_CODE_ATTEMPTS
            return (CodeCheck.EXHAUSTED if exhausted else CodeCheck.EXPIRED), session
        ip = address_key(client_ip)
        strict = await self.limiter.reached(self.limits.wrong_codes_per_ip, ip) is not None
        tried = await self._save(
            session, replace(session, proof=replace(proof, attempts=proof.attempts + 1))
        )
        assert tried.proof is not None
        if proof.matches(self.settings.secret_key, session.me, code):
            verified = replace(tried, proof=tried.proof.without_code(), verified=True)
            return CodeCheck.RIGHT, await self._save(tried, verified)
        await self.limiter.count(self.limits.wrong_codes_per_ip, ip)
        if tried.proof.attempts >= MAX_CODE_ATTEMPTS or strict:
            ended = replace(
                tried, proof=replace(tried.proof.without_code(), attempts=MAX_CODE_ATTEMPTS)
            )
            return CodeCheck.EXHAUSTED, await self._save(tried, ended)
        return CodeCheck.WRONG, tried

    async def approve(self, session: AuthSession, kept_scopes: list[str]) -> str:
        """Issue the authorization code; returns the redirect URL for the client."""
        me = self._verified_identity(session)
        await self._consume(session)
        request = session.request
        scope = narrow(request.scope, kept_scopes)
        profile = dict(session.profile or {"url": me})
        if "email" in scope and session.proof and session.proof.email:
            profile["email"] = session.proof.email
        code = await self.codes.issue(
            request,
            me,
            scope,
            profile,
            self.settings.code_expiry,
            client_name=session.client.name if session.client else None,
        )
        log.info("sign-in approved for %s to %s", me, request.client_id)
        return self.response_url(request.redirect_uri, {"code": code, "state": request.state})

    async def finish(self, session: AuthSession) -> str:
        """End a verified sign-in without a code (the grants page); returns the identity."""
        me = self._verified_identity(session)
        await self._consume(session)
        return me

    async def deny(self, session: AuthSession) -> None:
        await self._consume(session)

    def _verified_identity(self, session: AuthSession) -> str:
        if not session.verified or session.me is None:
            raise SignInProblem(
                "not-verified",
                "Enter your code first",
                "This sign-in has not been confirmed with an emailed code.",
            )
        return session.me

    async def _consume(self, session: AuthSession) -> None:
        if not await self.sessions.consume(session):
            raise await self._changed(session)

    async def _save(self, decided_from: AuthSession, new: AuthSession) -> AuthSession:
        saved = await self.sessions.save(decided_from, new)
        if saved is None:
            raise await self._changed(decided_from)
        return saved

    async def _changed(self, session: AuthSession) -> SignInProblem:
        """The problem for a session that changed (or ended) under a request."""
        if await self.sessions.reload(session) is None:
            return expired()
        return SignInProblem(
            "changed",
            "This sign-in changed in another window",
            "Another request changed this sign-in while yours was answered, so yours did nothing.",
            "Continue from the page shown here.",
            status=409,
            in_place=True,
        )

    def response_url(self, redirect_uri: str, params: dict[str, str]) -> str:
        """The redirect back to the client, always with `iss` (RFC 9207)."""
        return add_query(redirect_uri, {**params, "iss": self.settings.issuer})


def expired() -> SignInProblem:
    return SignInProblem(
        "expired",
        "This sign-in has expired",
        "It took too long, or it was finished or restarted in another window.",
        "Go back to the app and sign in again.",
    )
