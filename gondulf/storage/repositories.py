"""The storage seam: every repository Gondulf's services use, whatever the engine.

Services depend on these protocols only; `gondulf.storage.sqlite` implements
them (and is the only place with SQL). Another engine (PostgreSQL through
asyncpg, say) is another implementation of `Store`, with no change to any
service. Every method is async; times are passed in, never read here.

Each write that must be atomic is one method (`rotate`, `redeem`, `save`,
`acquire`...). Several writes that must land together run inside
`Store.transaction()`, which hands out the same repositories bound to one
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from gondulf.indieauth.clients import ClientInfo
from gondulf.storage.records import (
    CodeRecord,
    CodeState,
    Counted,
    DomainRecord,
    GrantsSession,
    Health,
    Limit,
    NewToken,
    Passkey,
    PasskeyChallenge,
    Refused,
    ResourceServer,
    SignInRecord,
    TokenRecord,
)


class SignInSessions(Protocol):
    async def create(self, record: SignInRecord, created_at: int) -> None: ...

    async def get(self, id_hash: str, now: int) -> SignInRecord | None:
        """The live session, or None when unknown or expired."""

    async def save(self, decided_from: int, record: SignInRecord, now: int) -> bool:
        """Write `record` (its revision + 1) only if the session is still at revision
        `decided_from` and alive; False when it changed meanwhile or is gone."""

    async def consume(self, id_hash: str, revision: int) -> bool:
        """End the session if it is at `revision`; True if this call ended it."""


class AuthorizationCodes(Protocol):
    async def insert(self, record: CodeRecord) -> None: ...

    async def redeem(self, code_hash: str, now: int) -> tuple[CodeRecord, CodeState] | None:
        """Use the code up in one step (of two concurrent calls exactly one gets
        REDEEMED_NOW); None when no such code exists."""


class Tokens(Protocol):
    async def insert(self, tokens: Sequence[NewToken]) -> None: ...

    async def by_hash(self, token_hash: str) -> TokenRecord | None:
        """Any token by its digest, live or not: the hot path of every token check."""

    async def by_id_prefix(self, prefix: str, limit: int) -> list[TokenRecord]:
        """Up to `limit` tokens, live or not, whose ID starts with `prefix`, in ID order."""

    async def touch(self, token_id: str, at: int) -> None:
        """Record a use (best effort bookkeeping)."""

    async def rotate(self, token_id: str, at: int) -> bool:
        """Mark a live refresh token rotated; False if it was rotated or revoked already."""

    async def revoke_family(self, family_id: str, at: int) -> int: ...

    async def revoke_ids(self, ids: Sequence[str], at: int) -> int:
        """Revoke tokens; a refresh token takes its whole family along."""

    async def find(
        self,
        *,
        me: str | None = None,
        client_id: str | None = None,
        host: str | None = None,
        active_at: int | None = None,
    ) -> list[TokenRecord]:
        """Tokens newest first, filtered by exact identity, app, identities on a host,
        and (with `active_at`) only those live then."""

    async def owners_of_family(self, family_id: str) -> set[str]:
        """The identities (`me`) the tokens of a family belong to."""


class ClientCache(Protocol):
    async def get(self, client_id: str, now: int) -> ClientInfo | None: ...

    async def put(self, info: ClientInfo, fetched_at: int, expires_at: int) -> None: ...


class Domains(Protocol):
    async def get(self, domain: str) -> DomainRecord | None: ...

    async def list(self) -> list[DomainRecord]: ...

    async def forget(self, domain: str) -> bool: ...

    async def record_check(self, domain: str, at: int, verified: bool, result: str) -> None:
        """Store a DNS check; a failed one keeps the time of the last success."""


class ResourceServers(Protocol):
    async def named(self, name: str) -> ResourceServer | None: ...

    async def insert(self, server: ResourceServer, secret_hash: str) -> None: ...

    async def list(self) -> list[ResourceServer]: ...

    async def remove(self, name_or_id: str) -> bool: ...

    async def by_secret_hash(self, secret_hash: str) -> ResourceServer | None:
        """On the hot path of introspection."""

    async def touch(self, server_id: str, at: int) -> None: ...


class RateLimits(Protocol):
    async def acquire(self, checks: Sequence[tuple[Limit, str]], at: int) -> Counted | Refused:
        """Count one event under every (limit, key) unless one of them is reached; the
        check and the count are one atomic step."""

    async def refund(self, counted: Counted) -> None: ...

    async def reached(self, limit: Limit, key: str, at: int) -> Refused | None:
        """On the hot path of the API: a read only."""

    async def count(self, limit: Limit, key: str, at: int) -> None:
        """Count an event that already happened."""


class GrantsSessions(Protocol):
    async def create(self, session: GrantsSession, created_at: int) -> None: ...

    async def get(self, id_hash: str, now: int) -> GrantsSession | None: ...

    async def end(self, id_hash: str) -> None: ...


class Passkeys(Protocol):
    async def insert(self, passkey: Passkey) -> bool:
        """False when its credential ID is registered already (to anyone)."""

    async def by_credential_id(self, credential_id: str) -> Passkey | None: ...

    async def find(self, me: str | None = None) -> list[Passkey]:
        """Every passkey, or one identity's, by identity then age."""

    async def by_id_prefix(self, prefix: str, limit: int) -> list[Passkey]:
        """Up to `limit` passkeys whose ID starts with `prefix`, in ID order."""

    async def record_use(self, passkey_id: str, old_count: int, new_count: int, at: int) -> bool:
        """Store the counter of an accepted use only if it is still `old_count` (of two
        concurrent uses with the same counter one wins); False otherwise."""

    async def rename(self, passkey_id: str, me: str, name: str) -> bool: ...

    async def remove(self, passkey_id: str, me: str | None = None) -> bool:
        """Delete one passkey (only if it is `me`'s, when given)."""

    async def email_proven(self, me: str, at: int, email: str = "") -> None:
        """Record that `me` proved itself with an emailed code at `at`."""

    async def last_proven_email(self, me: str) -> str | None:
        """The address of `me`'s last emailed code, if any."""

    async def email_proven_at(self, me: str) -> int | None: ...


class PasskeyChallenges(Protocol):
    async def insert(self, challenge: PasskeyChallenge) -> None: ...

    async def consume(self, challenge_id: str) -> PasskeyChallenge | None:
        """Delete the challenge and return it, whatever its state; None when unknown or
        used up already (of two concurrent calls exactly one gets it)."""


class Store(Protocol):
    """Every repository over one database."""

    @property
    def sessions(self) -> SignInSessions: ...

    @property
    def codes(self) -> AuthorizationCodes: ...

    @property
    def tokens(self) -> Tokens: ...

    @property
    def clients(self) -> ClientCache: ...

    @property
    def domains(self) -> Domains: ...

    @property
    def resource_servers(self) -> ResourceServers: ...

    @property
    def limits(self) -> RateLimits: ...

    @property
    def grants_sessions(self) -> GrantsSessions: ...

    @property
    def passkeys(self) -> Passkeys: ...

    @property
    def passkey_challenges(self) -> PasskeyChallenges: ...

    def transaction(self) -> AbstractAsyncContextManager[Store]:
        """The same repositories, every call inside one transaction (rolled back whole
        on any exception)."""

    async def purge(self, now: int) -> dict[str, int]:
        """Delete what has expired; how many rows of each kind went."""

    async def ping(self) -> None:
        """Raise DatabaseError unless the database answers and holds the schema."""

    async def health(self, now: int) -> Health:
        """Whether the database can be read and written now, each with its reason; the
        write probe is a real (tiny) write, never queued behind this process's own work."""

    async def close(self) -> None: ...
