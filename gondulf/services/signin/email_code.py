"""The emailed-code proof: the person shows they read mail at an address their homepage lists.

Its state lives with the sign-in (as JSON): the addresses the homepage
listed, the address the current code went to, the code's keyed digest, its
expiry and tries. The digest binds the code to the identity, the address and
the list of addresses it was sent for, so a code can only ever prove exactly
that: if any of them changed, the code does not match.

Every change is a compare-and-set on the session it was decided from
(AuthSessionStore.update): of two racing requests, one writes nothing. A code
is sent only when the person asks on Gondulf's page, and each party's sending
is limited on its own (gondulf.services.rate_limits).
"""

from __future__ import annotations

import asyncio
import enum
import json
import logging
import time
from dataclasses import asdict, dataclass, replace
from email.message import EmailMessage
from typing import ClassVar
from urllib.parse import urlsplit

from gondulf.config import Settings
from gondulf.indieauth.urls import domain_of
from gondulf.services.digests import keyed_digest, new_code, same
from gondulf.services.metrics import Metrics
from gondulf.services.outside.email import EmailError, EmailSender, code_message
from gondulf.services.rate_limits import CODES_PER_SESSION, AbuseLimits, RateLimiter, address_key
from gondulf.services.signin.problems import Problem, SignInProblem, minutes
from gondulf.services.signin.sessions import AuthSession, AuthSessionStore
from gondulf.storage.records import Counted

log = logging.getLogger("gondulf.signin")

MAX_CODE_ATTEMPTS = 3


class CodeCheck(enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"
    EXHAUSTED = "exhausted"  # the last allowed try was wrong, or none is left
    EXPIRED = "expired"  # no live code: never sent, expired or already used


@dataclass(frozen=True)
class EmailProof:
    METHOD: ClassVar[str] = "email"

    emails: tuple[str, ...]  # the rel=me addresses, in the homepage's order
    email: str | None = None  # where the current (or last) code went
    code_digest: str | None = None
    code_expires_at: int | None = None
    attempts: int = 0  # tries spent on the current code
    codes_sent: int = 0  # codes sent in this sign-in

    def to_json(self) -> str:
        return json.dumps({"method": self.METHOD, **asdict(self)})

    @classmethod
    def from_json(cls, text: str) -> EmailProof:
        data = json.loads(text)
        data.pop("method", None)
        data["emails"] = tuple(data["emails"])
        return cls(**data)

    def code_live(self, now: float) -> bool:
        return (
            self.code_digest is not None
            and self.code_expires_at is not None
            and self.code_expires_at > now
            and self.attempts < MAX_CODE_ATTEMPTS
        )

    def with_code(self, key: str, me: str, email: str, code: str, expires_at: int) -> EmailProof:
        """A new code sent to `email` replaces any earlier one."""
        return replace(
            self,
            email=email,
            code_digest=code_digest(key, me, email, self.emails, code),
            code_expires_at=expires_at,
            attempts=0,
            codes_sent=self.codes_sent + 1,
        )

    def without_code(self) -> EmailProof:
        return replace(self, code_digest=None, code_expires_at=None)

    def matches(self, key: str, me: str, code: str) -> bool:
        """Whether `code` is the live code for exactly this (me, address, addresses)."""
        if self.code_digest is None or self.email is None or self.email not in self.emails:
            return False
        return same(self.code_digest, code_digest(key, me, self.email, self.emails, code))


def code_digest(key: str, me: str, email: str, emails: tuple[str, ...], code: str) -> str:
    return keyed_digest(key, json.dumps([code, me, email, list(emails)]))


def masked(address: str) -> str:
    """`jane@jane.example` → `j…e@jane.example`: enough to recognise, not to copy."""
    local, _, domain = address.rpartition("@")
    shown = local[0] + "…" + (local[-1] if len(local) > 2 else "")
    return f"{shown}@{domain}"


def shown_addresses(emails: tuple[str, ...]) -> list[str]:
    """The addresses as pages show them: masked, unless masking makes two look the same."""
    short = [masked(address) for address in emails]
    return short if len(set(short)) == len(short) else list(emails)


def email_state(session: AuthSession) -> EmailProof | None:
    """The session's emailed-code state, if that is the proof under way."""
    return session.proof if isinstance(session.proof, EmailProof) else None


class EmailCodeMethod:
    """Sending codes and checking them, for the sign-in flow."""

    def __init__(
        self,
        settings: Settings,
        *,
        sessions: AuthSessionStore,
        limiter: RateLimiter,
        limits: AbuseLimits,
        email: EmailSender,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.limiter = limiter
        self.limits = limits
        self.email = email
        self.metrics = metrics

    async def send_code(
        self, session: AuthSession, email: str, client_ip: str, *, known_as: str | None = None
    ) -> AuthSession:
        """Email a new 6-digit code to one of the addresses the homepage lists.

        The code is stored (bound to this identity and address) before it is
        sent; a send that fails takes it back, and gives back the sending limits.
        A browser `known_as` this identity skips the limits all parties share.
        """
        proof = email_state(session)
        if session.me is None or proof is None or email not in proof.emails:
            raise SignInProblem(
                Problem.BAD_EMAIL,
                "Pick one of the listed addresses",
                "The address chosen is not one your homepage lists.",
            )
        if proof.codes_sent >= self.limits.codes_per_session:
            self.metrics.refused(CODES_PER_SESSION)
            raise SignInProblem(
                Problem.TOO_MANY_CODES,
                "Too many codes for this sign-in",
                f"{proof.codes_sent} codes were already sent for this sign-in.",
                "Use the last code sent, or start again from the app.",
                status=429,
            )
        counted = await self._count(session.me, email, client_ip, shared=known_as != session.me)
        code = new_code()
        expires_at = int(time.time()) + self.settings.code_expiry
        state = proof.with_code(self.settings.secret_key, session.me, email, code, expires_at)
        try:
            # A new code means a new proof under way: whatever proved the sign-in before
            # (a passkey, an earlier code) no longer stands for the address it goes to.
            saved = await self.sessions.update(
                session, replace(session, proof=state, verified=False)
            )
        except SignInProblem:
            await self.limiter.refund(counted)
            raise
        try:
            await self.email.send(self._message(saved, email, code))
        except BaseException as exc:  # failed, or out of time: nobody will get this code
            await asyncio.shield(self._take_back(counted, saved, proof))
            if not isinstance(exc, EmailError):
                raise
            log.error("sign-in code for %s could not be sent: %s", domain_of(session.me), exc)
            raise SignInProblem(
                Problem.EMAIL_FAILED,
                "The code could not be sent",
                f"Sending the email to {email} failed.",
                "Try again in a few minutes; if it keeps failing, tell the "
                "operator of this server.",
                status=502,
            ) from exc
        self.metrics.code_sent()
        return saved

    async def _take_back(self, counted: Counted, saved: AuthSession, before: EmailProof) -> None:
        """An unsent code: its limits given back, the code that was there before restored."""
        await self.limiter.refund(counted)
        await self.sessions.save(saved, replace(saved, proof=before))

    async def _count(self, me: str, email: str, client_ip: str, *, shared: bool) -> Counted:
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
            Problem.TOO_MANY_CODES,
            "Too many codes sent",
            f"{outcome.limit.count} codes were already sent {who} in the last hour.",
            f"Wait {minutes(outcome.retry_after)} and ask for a new code; "
            "a code you already have keeps working until it expires.",
            status=429,
            retry_after=outcome.retry_after,
        )

    def _message(self, session: AuthSession, email: str, code: str) -> EmailMessage:
        assert session.me is not None
        # The app is named by its address only: its name is text of its own choosing, and
        # this email may reach anyone a stranger's homepage lists.
        return code_message(
            sender=self.settings.smtp.from_address,
            recipient=email,
            code=code,
            me=session.me,
            issuer=self.settings.issuer,
            minutes=self.settings.code_expiry // 60,
            client=urlsplit(session.request.client_id).netloc,
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
        result, checked = await self._check_code(session, code, client_ip)
        self.metrics.code_checked(result.value)
        return result, checked

    async def _check_code(
        self, session: AuthSession, code: str, client_ip: str
    ) -> tuple[CodeCheck, AuthSession]:
        proof = email_state(session)
        if session.me is None or proof is None or not proof.code_live(time.time()):
            exhausted = proof is not None and proof.attempts >= MAX_CODE_ATTEMPTS
            return (CodeCheck.EXHAUSTED if exhausted else CodeCheck.EXPIRED), session
        ip = address_key(client_ip)
        strict = await self.limiter.reached(self.limits.wrong_codes_per_ip, ip) is not None
        tried_state = replace(proof, attempts=proof.attempts + 1)
        tried = await self.sessions.update(session, replace(session, proof=tried_state))
        if proof.matches(self.settings.secret_key, session.me, code):
            verified = replace(tried, proof=tried_state.without_code(), verified=True)
            return CodeCheck.RIGHT, await self.sessions.update(tried, verified)
        await self.limiter.count(self.limits.wrong_codes_per_ip, ip)
        if tried_state.attempts >= MAX_CODE_ATTEMPTS or strict:
            ended_state = replace(tried_state.without_code(), attempts=MAX_CODE_ATTEMPTS)
            return CodeCheck.EXHAUSTED, await self.sessions.update(
                tried, replace(tried, proof=ended_state)
            )
        return CodeCheck.WRONG, tried
