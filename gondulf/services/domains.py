"""What Gondulf remembers about each person's domain: its DNS checks.

A successful `_gondulf` TXT check is remembered for 24 hours. Only the DNS
proof is remembered: the emailed code proves the person at every sign-in and
is never recorded here. Domains are kept in canonical form.
"""

from __future__ import annotations

import time

from gondulf.indieauth.urls import canonical_host
from gondulf.services.outside.dns import DnsService, DomainProof
from gondulf.storage.records import DomainRecord
from gondulf.storage.repositories import Domains

DNS_CHECK_VALID_FOR = 24 * 3600


class DomainService:
    def __init__(self, domains: Domains, dns: DnsService) -> None:
        self._domains = domains
        self._dns = dns

    async def get(self, domain: str) -> DomainRecord | None:
        return await self._domains.get(canonical_host(domain))

    async def list(self) -> list[DomainRecord]:
        return await self._domains.list()

    async def forget(self, domain: str) -> bool:
        """Drop the remembered DNS check: the next sign-in looks the record up again."""
        return await self._domains.forget(canonical_host(domain))

    async def record_check(self, proof: DomainProof, now: float | None = None) -> None:
        """Store the result of a DNS check; a failed check keeps the last success time.

        A domain is remembered from its first success on: a stranger's attempt with a
        domain that was never proven leaves no row behind.
        """
        if not proof.verified and await self.get(proof.domain) is None:
            return
        await self._domains.record_check(
            proof.domain,
            int(time.time() if now is None else now),
            proof.verified,
            "verified" if proof.verified else proof.txt.describe,
        )

    async def check(self, domain: str, now: float | None = None) -> tuple[bool, DomainProof | None]:
        """Whether the domain is proven: a recent success, else a fresh lookup (recorded)."""
        current = time.time() if now is None else now
        record = await self.get(domain)
        if record is not None and record.verified_recently(current, DNS_CHECK_VALID_FOR):
            return True, None
        proof = await self._dns.verify_domain(domain)
        if not proof.lookup_failed:
            await self.record_check(proof, current)
        return proof.verified, proof
