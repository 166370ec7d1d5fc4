"""Authorization codes (table authorization_codes): used up in the statement that finds them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from gondulf.storage.records import CodeRecord, CodeState
from gondulf.storage.sqlite.database import Row
from gondulf.storage.sqlite.executor import Executor


def _record(row: Row) -> CodeRecord:
    return CodeRecord(
        code_hash=row["code_hash"],
        client_id=row["client_id"],
        redirect_uri=row["redirect_uri"],
        me=row["me"],
        scope=tuple(row["scope"].split()),
        code_challenge=row["code_challenge"],
        code_challenge_method=row["code_challenge_method"],
        profile=json.loads(row["profile"]) if row["profile"] else None,
        client_name=row["client_name"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
    )


@dataclass(frozen=True)
class SQLiteAuthorizationCodes:
    db: Executor

    async def insert(self, record: CodeRecord) -> None:
        await self.db.execute(
            "INSERT INTO authorization_codes (code_hash, client_id, redirect_uri, me, scope, "
            "code_challenge, code_challenge_method, profile, client_name, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.code_hash,
                record.client_id,
                record.redirect_uri,
                record.me,
                " ".join(record.scope),
                record.code_challenge,
                record.code_challenge_method,
                json.dumps(record.profile) if record.profile else None,
                record.client_name,
                record.created_at,
                record.expires_at,
            ),
        )

    async def redeem(self, code_hash: str, now: int) -> tuple[CodeRecord, CodeState] | None:
        row = await self.db.fetchone(
            "UPDATE authorization_codes SET used_at = ? "
            "WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING *",
            (now, code_hash, now),
        )
        if row is not None:
            return _record(row), CodeState.REDEEMED_NOW
        row = await self.db.fetchone(
            "SELECT * FROM authorization_codes WHERE code_hash = ?", (code_hash,)
        )
        if row is None:
            return None
        state = CodeState.ALREADY_USED if row["used_at"] is not None else CodeState.EXPIRED
        return _record(row), state
