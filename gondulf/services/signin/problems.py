"""What can stop a sign-in, each naming what went wrong and the exact fix for the person."""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


# What the person can fix on their own website and then try again.
RETRYABLE = frozenset(
    {
        Problem.BAD_WEBSITE,
        Problem.NO_DNS_RECORD,
        Problem.NO_EMAIL,
        Problem.HOMEPAGE_UNREACHABLE,
        Problem.DNS_FAILED,
        Problem.HOMEPAGE_ELSEWHERE,
        Problem.BAD_REDIRECT,
    }
)


@dataclass(eq=False)  # not frozen: raising sets __traceback__ on the instance
class SignInProblem(Exception):
    """Something the person (or their website) must fix before signing in.

    `in_place` problems leave the sign-in where it was: the page of its current
    step is shown again with the problem, so a person is never stranded.
    """

    kind: Problem
    title: str
    detail: str
    fix: str | None = None
    status: int = 400
    retry_after: int | None = None
    in_place: bool = False


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
        in_place=True,
    )


def minutes(seconds: int) -> str:
    """`61` → `2 minutes`: how long to wait, rounded up."""
    count = max(1, -(-seconds // 60))
    return f"{count} minute{'s' if count != 1 else ''}"
