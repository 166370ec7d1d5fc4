"""Pending sign-ins (table auth_sessions); every change a compare-and-set on `revision`."""

from __future__ import annotations

import json
from dataclasses import dataclass

from gondulf.indieauth.clients import ClientInfo
from gondulf.indieauth.request import AuthorizationRequest
from gondulf.storage.records import SignInRecord
from gondulf.storage.sqlite.database import Row
from gondulf.storage.sqlite.executor import Executor


def _record(row: Row) -> SignInRecord:
    return SignInRecord(
        id_hash=row["id_hash"],
        revision=row["revision"],
        expires_at=row["expires_at"],
        request=AuthorizationRequest.from_json(row["request"]),
        client=ClientInfo.from_json(row["client"]) if row["client"] else None,
        csrf=row["csrf_secret"],
        me=row["me"],
        profile=json.loads(row["profile"]) if row["profile"] else None,
        proof=row["proof"],
        verified=row["verified_at"] is not None,
        note=row["note"],
    )


@dataclass(frozen=True)
class SQLiteSignInSessions:
    db: Executor

    async def create(self, record: SignInRecord, created_at: int) -> None:
        await self.db.execute(
            "INSERT INTO auth_sessions (id_hash, created_at, expires_at, revision, request, "
            "csrf_secret, client) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.id_hash,
                created_at,
                record.expires_at,
                record.revision,
                record.request.to_json(),
                record.csrf,
                record.client.to_json() if record.client else None,
            ),
        )

    async def get(self, id_hash: str, now: int) -> SignInRecord | None:
        row = await self.db.fetchone(
            "SELECT * FROM auth_sessions WHERE id_hash = ? AND expires_at > ?", (id_hash, now)
        )
        return _record(row) if row else None

    async def save(self, decided_from: int, record: SignInRecord, now: int) -> bool:
        changed = await self.db.execute(
            "UPDATE auth_sessions SET revision = revision + 1, me = ?, profile = ?, proof = ?, "
            "verified_at = ?, note = ? WHERE id_hash = ? AND revision = ? AND expires_at > ?",
            (
                record.me,
                json.dumps(record.profile) if record.profile else None,
                record.proof,
                now if record.verified else None,
                record.note,
                record.id_hash,
                decided_from,
                now,
            ),
        )
        return changed == 1

    async def consume(self, id_hash: str, revision: int) -> bool:
        return (
            await self.db.execute(
                "DELETE FROM auth_sessions WHERE id_hash = ? AND revision = ?", (id_hash, revision)
            )
            == 1
        )
