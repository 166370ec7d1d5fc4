"""What Gondulf remembers of each domain: its DNS checks (table domains)."""

from __future__ import annotations

from dataclasses import dataclass

from gondulf.storage.records import DomainRecord
from gondulf.storage.sqlite.executor import Executor

COLUMNS = "domain, created_at, last_checked_at, last_verified_at, last_check_result"


@dataclass(frozen=True)
class SQLiteDomains:
    db: Executor

    async def get(self, domain: str) -> DomainRecord | None:
        row = await self.db.fetchone(f"SELECT {COLUMNS} FROM domains WHERE domain = ?", (domain,))
        return DomainRecord(**dict(row)) if row else None

    async def list(self) -> list[DomainRecord]:
        rows = await self.db.fetchall(f"SELECT {COLUMNS} FROM domains ORDER BY domain")
        return [DomainRecord(**dict(row)) for row in rows]

    async def forget(self, domain: str) -> bool:
        return await self.db.execute("DELETE FROM domains WHERE domain = ?", (domain,)) > 0

    async def record_check(self, domain: str, at: int, verified: bool, result: str) -> None:
        await self.db.execute(
            """
            INSERT INTO domains (domain, created_at, last_checked_at, last_verified_at,
                                 last_check_result)
            VALUES (:domain, :at, :at, CASE WHEN :ok THEN :at END, :result)
            ON CONFLICT (domain) DO UPDATE SET
                last_checked_at = excluded.last_checked_at,
                last_verified_at = coalesce(excluded.last_verified_at, last_verified_at),
                last_check_result = excluded.last_check_result
            """,
            {"domain": domain, "at": at, "ok": verified, "result": result},
        )
