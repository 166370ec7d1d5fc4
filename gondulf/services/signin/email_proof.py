"""The emailed-code proof: the person shows they read mail at an address their homepage lists.

Its state lives with the sign-in (as JSON): the addresses the homepage
listed, the address the current code went to, the code's keyed digest, its
expiry and tries. The digest binds the code to the identity, the address and
the list of addresses it was sent for, so a code can only ever prove exactly
that: if any of them changed, the code does not match.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, replace

from gondulf.services.digests import keyed_digest, same

METHOD = "email"
MAX_CODE_ATTEMPTS = 3


class CodeCheck(enum.Enum):
    RIGHT = "right"
    WRONG = "wrong"
    EXHAUSTED = "exhausted"  # the last allowed try was wrong, or none is left
    EXPIRED = "expired"  # no live code: never sent, expired or already used


@dataclass(frozen=True)
class EmailProof:
    emails: tuple[str, ...]  # the rel=me addresses, in the homepage's order
    email: str | None = None  # where the current (or last) code went
    code_digest: str | None = None
    code_expires_at: int | None = None
    attempts: int = 0  # tries spent on the current code
    codes_sent: int = 0  # codes sent in this sign-in

    def to_json(self) -> str:
        return json.dumps({"method": METHOD, **asdict(self)})

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
