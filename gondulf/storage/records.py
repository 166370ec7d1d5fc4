"""What Gondulf keeps: one frozen dataclass per kind of record, whatever the engine.

Secrets never appear here, only their digests. Times are Unix seconds.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from gondulf.indieauth.clients import ClientInfo
from gondulf.indieauth.request import AuthorizationRequest


@dataclass(frozen=True)
class SignInRecord:
    """A pending sign-in. `proof` is the proof method's own state and `note` what its page
    shows after the last form (both JSON, opaque to storage)."""

    id_hash: str
    revision: int
    expires_at: int
    request: AuthorizationRequest
    client: ClientInfo | None
    csrf: str
    me: str | None = None
    profile: dict[str, Any] | None = None
    proof: str | None = None
    verified: bool = False
    note: str | None = None


class CodeState(enum.Enum):
    REDEEMED_NOW = "redeemed-now"  # this call used it up
    ALREADY_USED = "already-used"
    EXPIRED = "expired"


@dataclass(frozen=True)
class CodeRecord:
    """An authorization code, bound to the request it answers."""

    code_hash: str
    client_id: str
    redirect_uri: str
    me: str
    scope: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    profile: dict[str, Any] | None
    client_name: str | None
    created_at: int
    expires_at: int


class TokenKind(enum.StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"


@dataclass(frozen=True)
class TokenRecord:
    id: str
    kind: TokenKind
    family_id: str  # every token descended from one authorization code
    me: str
    client_id: str
    scope: tuple[str, ...]
    profile: dict[str, Any] | None
    created_at: int
    expires_at: int | None
    client_name: str | None = None
    last_used_at: int | None = None
    revoked_at: int | None = None
    rotated_at: int | None = None

    def active(self, now: float) -> bool:
        return (
            self.revoked_at is None
            and self.rotated_at is None
            and (self.expires_at is None or self.expires_at > now)
        )


@dataclass(frozen=True)
class NewToken:
    record: TokenRecord
    token_hash: str
    parent_id: str | None = None  # the refresh token it was rotated from


@dataclass(frozen=True)
class DomainRecord:
    domain: str
    created_at: int
    last_checked_at: int | None
    last_verified_at: int | None
    last_check_result: str | None

    def verified_recently(self, now: float, valid_for: int) -> bool:
        return self.last_verified_at is not None and now - self.last_verified_at < valid_for


@dataclass(frozen=True)
class ResourceServer:
    id: str
    name: str
    created_at: int
    last_used_at: int | None


@dataclass(frozen=True)
class GrantsSession:
    """A person signed in to the grants page."""

    id_hash: str
    me: str
    csrf: str
    expires_at: int


class PasskeyPurpose(enum.StrEnum):
    REGISTRATION = "registration"
    AUTHENTICATION = "authentication"


@dataclass(frozen=True)
class Passkey:
    """A WebAuthn credential registered for one identity (`me`)."""

    id: str  # public handle for administration
    me: str
    credential_id: str  # the authenticator's credential ID, base64url
    public_key: bytes  # COSE_Key
    sign_count: int
    name: str
    transports: tuple[str, ...]
    created_at: int
    last_used_at: int | None = None
    email: str = ""  # the address proven by the emailed code it was added after


@dataclass(frozen=True)
class PasskeyChallenge:
    """A challenge handed to a browser, kept only as its digest, for one purpose and identity."""

    id: str
    challenge_hash: str
    purpose: PasskeyPurpose
    me: str
    created_at: int
    expires_at: int


OK = "ok"
BUSY = "busy"  # another writer holds the database: writes wait, they do not fail


@dataclass(frozen=True)
class Health:
    """What the database can do now: each is OK, BUSY (writes only) or the reason it fails."""

    read: str
    write: str

    @property
    def ok(self) -> bool:
        return self.read == OK and self.write in (OK, BUSY)


@dataclass(frozen=True)
class Limit:
    name: str  # such as "codes-per-ip"
    count: int  # events allowed in `window` seconds
    window: int = 3600

    def bucket(self, key: str) -> str:
        return f"{self.name}:{key}"


@dataclass(frozen=True)
class Refused:
    """A limit that was reached, and the seconds until an event is allowed again."""

    limit: Limit
    retry_after: int


@dataclass(frozen=True)
class Counted:
    """Events counted by an acquire, so that they can be refunded."""

    rows: tuple[tuple[str, int], ...]  # engine-specific handles of what was counted
