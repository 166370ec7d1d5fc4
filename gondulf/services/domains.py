"""What the database remembers about each person's domain: its DNS checks.

A successful `_gondulf` TXT check is remembered for 24 hours. Only the DNS
proof is remembered: the emailed code proves the person at every sign-in and
is never recorded here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from gondulf.indieauth.urls import canonical_host
from gondulf.services.dns import DnsService, DomainProof
from gondulf.storage.database import Database

DNS_CHECK_VALID_FOR = 24 * 3600


@dataclass(frozen=True)
class DomainRecord:
    domain: str
    created_at: int
    last_checked_at: int | None
    last_verified_at: int | None
    last_check_result: str | None

    def verified_recently(self, now: float, valid_for: int = DNS_CHECK_VALID_FOR) -> bool:
        return self.last_verified_at is not None and now - self.last_verified_at < valid_for


class DomainStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, domain: str) -> DomainRecord | None:
        row = await self._db.fetchone(
            "SELECT domain, created_at, last_checked_at, last_verified_at, last_check_result "
            "FROM domains WHERE domain = ?",
            (canonical_host(domain),),
        )
        return DomainRecord(**dict(row)) if row else None

    async def list(self) -> list[DomainRecord]:
        rows = await self._db.fetchall(
            "SELECT domain, created_at, last_checked_at, last_verified_at, last_check_result "
            "FROM domains ORDER BY domain")
        return [DomainRecord(**dict(row)) for row in rows]

    async def forget(self, domain: str) -> bool:
        """Drop the remembered DNS check: the next sign-in looks the record up again."""
        return await self._db.execute("DELETE FROM domains WHERE domain = ?",
                                      (canonical_host(domain),)) > 0

    async def record_check(self, proof: DomainProof, now: float | None = None) -> None:
        """Store the result of a DNS check; a failed check keeps the last success time."""
        at = int(time.time() if now is None else now)
        await self._db.execute(
            """
            INSERT INTO domains (domain, created_at, last_checked_at, last_verified_at,
                                 last_check_result)
            VALUES (:domain, :at, :at, CASE WHEN :ok THEN :at END, :result)
            ON CONFLICT (domain) DO UPDATE SET
                last_checked_at = excluded.last_checked_at,
                last_verified_at = coalesce(excluded.last_verified_at, last_verified_at),
                last_check_result = excluded.last_check_result
            """,
            {"domain": proof.domain, "at": at, "ok": proof.verified,
             "result": "verified" if proof.verified else proof.txt.describe},
        )

    async def check(
        self, dns_service: DnsService, domain: str, now: float | None = None
    ) -> tuple[bool, DomainProof | None]:
        """Whether the domain is proven: a recent success, else a fresh lookup (recorded)."""
        current = time.time() if now is None else now
        record = await self.get(domain)
        if record is not None and record.verified_recently(current):
            return True, None
        proof = await dns_service.verify_domain(domain)
        if not proof.lookup_failed:
            await self.record_check(proof, current)
        return proof.verified, proof
