"""Access and refresh tokens (table tokens). Token checks read on the event loop's thread."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from gondulf.storage.records import NewToken, TokenKind, TokenRecord
from gondulf.storage.sqlite.database import Row
from gondulf.storage.sqlite.executor import Executor

COLUMNS = (
    "id, kind, family_id, me, client_id, client_name, scope, profile, created_at, "
    "expires_at, last_used_at, revoked_at, rotated_at"
)
LIVE = "revoked_at IS NULL AND rotated_at IS NULL AND (expires_at IS NULL OR expires_at > ?)"


def _record(row: Row) -> TokenRecord:
    return TokenRecord(
        id=row["id"],
        kind=TokenKind(row["kind"]),
        family_id=row["family_id"],
        me=row["me"],
        client_id=row["client_id"],
        scope=tuple(row["scope"].split()),
        profile=json.loads(row["profile"]) if row["profile"] else None,
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        client_name=row["client_name"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        rotated_at=row["rotated_at"],
    )


def _identities_on(host: str) -> tuple[str, list[str]]:
    """A clause (three index range scans) for every profile URL on `host`, with or without
    a port: `https://host/…`, `http://host/…`, `http://host:port/…`."""
    prefixes = [f"https://{host}/", f"http://{host}/", f"http://{host}:", f"https://{host}:"]
    clause = " OR ".join("(me >= ? AND me < ?)" for _ in prefixes)
    params = [
        bound for prefix in prefixes for bound in (prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1))
    ]
    return f"({clause})", params


@dataclass(frozen=True)
class SQLiteTokens:
    db: Executor

    async def insert(self, tokens: Sequence[NewToken]) -> None:
        for new in tokens:
            record = new.record
            await self.db.execute(
                "INSERT INTO tokens (id, token_hash, kind, family_id, parent_id, me, "
                "client_id, client_name, scope, profile, created_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    new.token_hash,
                    record.kind.value,
                    record.family_id,
                    new.parent_id,
                    record.me,
                    record.client_id,
                    record.client_name,
                    " ".join(record.scope),
                    json.dumps(record.profile) if record.profile else None,
                    record.created_at,
                    record.expires_at,
                ),
            )

    async def by_hash(self, token_hash: str) -> TokenRecord | None:
        row = await self.db.fast_fetchone(
            f"SELECT {COLUMNS} FROM tokens WHERE token_hash = ?", (token_hash,)
        )
        return _record(row) if row else None

    async def by_id_prefix(self, prefix: str, limit: int) -> list[TokenRecord]:
        # A range over the primary key, not LIKE (whose wildcards a prefix could hold).
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM tokens WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (prefix, prefix + "\U0010ffff", limit),
        )
        return [_record(row) for row in rows]

    async def touch(self, token_id: str, at: int) -> None:
        await self.db.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (at, token_id))

    async def rotate(self, token_id: str, at: int) -> bool:
        return (
            await self.db.execute(
                "UPDATE tokens SET rotated_at = ?, last_used_at = ? "
                "WHERE id = ? AND rotated_at IS NULL AND revoked_at IS NULL",
                (at, at, token_id),
            )
            == 1
        )

    async def revoke_family(self, family_id: str, at: int) -> int:
        return await self.db.execute(
            "UPDATE tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL",
            (at, family_id),
        )

    async def revoke_ids(self, ids: Sequence[str], at: int) -> int:
        count = 0
        for token_id in ids:
            count += await self.db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND (id = ? OR "
                "family_id IN (SELECT family_id FROM tokens WHERE id = ? AND kind = 'refresh'))",
                (at, token_id, token_id),
            )
        return count

    async def find(
        self,
        *,
        me: str | None = None,
        client_id: str | None = None,
        host: str | None = None,
        active_at: int | None = None,
    ) -> list[TokenRecord]:
        clauses: list[str] = []
        params: list[object] = []
        if me is not None:
            clauses.append("me = ?")
            params.append(me)
        if client_id is not None:
            clauses.append("client_id = ?")
            params.append(client_id)
        if host is not None:
            clause, bounds = _identities_on(host)
            clauses.append(clause)
            params.extend(bounds)
        if active_at is not None:
            clauses.append(LIVE)
            params.append(active_at)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM tokens {where} ORDER BY created_at DESC, id", params
        )
        return [_record(row) for row in rows]

    async def owners_of_family(self, family_id: str) -> set[str]:
        rows = await self.db.fetchall(
            "SELECT DISTINCT me FROM tokens WHERE family_id = ?", (family_id,)
        )
        return {row["me"] for row in rows}
