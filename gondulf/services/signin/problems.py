"""What can stop a sign-in, each naming what went wrong and the exact fix for the person."""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass


class Problem(enum.StrEnum):
    BAD_WEBSITE = "bad-website"
    NO_DNS_RECORD = "no-dns-record"
    DNS_FAILED = "dns-failed"
    HOMEPAGE_UNREACHABLE = "homepage-unreachable"
    BAD_REDIRECT = "bad-redirect"
    HOMEPAGE_ELSEWHERE = "homepage-elsewhere"
    NO_EMAIL = "no-email"
    BAD_EMAIL = "bad-email"
    TOO_MANY_SIGNINS = "too-many-signins"
    TOO_MANY_CODES = "too-many-codes"
    EMAIL_FAILED = "email-failed"
    NOT_VERIFIED = "not-verified"
    BUSY = "busy"
    TOO_SLOW = "too-slow"
    CHANGED = "changed"
    EXPIRED = "expired"
    CSRF = "csrf"
    UNKNOWN_GRANT = "unknown-grant"


@dataclass(eq=False)  # not frozen: raising sets __traceback__ on the instance
class SignInProblem(Exception):
    """Something the person (or their website) must fix before signing in.

    `detail` says in a plain sentence what happened; `technical` is the error as a
    program gave it, for the curious (pages fold it away). Raised while a sign-in form
    is handled, a problem becomes the Note its page shows (gondulf.web.authorize).
    """

    kind: Problem
    title: str
    detail: str
    fix: str | None = None
    status: int = 400
    retry_after: int | None = None
    technical: str | None = None


NOTICE = "notice"  # the kind of a Note that reports what went well


@dataclass(frozen=True)
class Note:
    """What a sign-in's page shows after its last form: a problem, or a notice.

    Every form of a sign-in answers with a redirect to the page of its current step;
    the note, kept with the sign-in, is what that page says about the form. `website`
    is the address typed when the website step failed: that page is shown again,
    filled in.
    """

    kind: str  # a Problem's value, or NOTICE
    title: str
    detail: str = ""
    fix: str | None = None
    technical: str | None = None
    status: int = 200
    retry_at: int | None = None  # Unix time: Retry-After until then
    website: str | None = None

    @property
    def is_problem(self) -> bool:
        return self.kind != NOTICE

    @classmethod
    def notice(cls, text: str) -> Note:
        return cls(NOTICE, text)

    @classmethod
    def of(cls, problem: SignInProblem, now: float, website: str | None = None) -> Note:
        retry_at = int(now) + problem.retry_after if problem.retry_after else None
        return cls(
            problem.kind.value,
            problem.title,
            problem.detail,
            problem.fix,
            problem.technical,
            problem.status,
            retry_at,
            website,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Note:
        return cls(**json.loads(text))


def expired() -> SignInProblem:
    return SignInProblem(
        Problem.EXPIRED,
        "This sign-in has expired",
        "It took too long, or it was finished or restarted in another window.",
        "Go back to the app and sign in again.",
    )


def changed() -> SignInProblem:
    return SignInProblem(
        Problem.CHANGED,
        "This sign-in changed in another window",
        "Another request changed this sign-in while yours was answered, so yours did nothing.",
        "Continue from the page shown here.",
        status=409,
    )


def minutes(seconds: int) -> str:
    """`61` → `2 minutes`: how long to wait, rounded up."""
    count = max(1, -(-seconds // 60))
    return f"{count} minute{'s' if count != 1 else ''}"


def ago(seconds: float) -> str:
    """`130` → `2 minutes ago`: how long since, rounded down."""
    count = int(seconds // 60)
    if count < 1:
        return "less than a minute ago"
    return f"{count} minute{'s' if count != 1 else ''} ago"
