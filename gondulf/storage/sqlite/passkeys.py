"""Passkeys (table passkeys), their challenges (passkey_challenges) and when each identity
last proved itself by email (email_proofs)."""

from __future__ import annotations

from dataclasses import dataclass

from gondulf.storage.records import Passkey, PasskeyChallenge, PasskeyPurpose
from gondulf.storage.sqlite.database import Row
from gondulf.storage.sqlite.executor import Executor

COLUMNS = (
    "id, me, credential_id, public_key, sign_count, name, transports, created_at, last_used_at, "
    "email"
)


def _passkey(row: Row) -> Passkey:
    return Passkey(
        id=row["id"],
        me=row["me"],
        credential_id=row["credential_id"],
        public_key=bytes(row["public_key"]),
        sign_count=row["sign_count"],
        name=row["name"],
        transports=tuple(row["transports"].split()),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        email=row["email"],
    )


@dataclass(frozen=True)
class SQLitePasskeys:
    db: Executor

    async def insert(self, passkey: Passkey) -> bool:
        inserted = await self.db.execute(
            f"INSERT INTO passkeys ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (credential_id) DO NOTHING",
            (
                passkey.id,
                passkey.me,
                passkey.credential_id,
                passkey.public_key,
                passkey.sign_count,
                passkey.name,
                " ".join(passkey.transports),
                passkey.created_at,
                passkey.last_used_at,
                passkey.email,
            ),
        )
        return inserted == 1

    async def by_credential_id(self, credential_id: str) -> Passkey | None:
        row = await self.db.fetchone(
            f"SELECT {COLUMNS} FROM passkeys WHERE credential_id = ?", (credential_id,)
        )
        return _passkey(row) if row else None

    async def find(self, me: str | None = None) -> list[Passkey]:
        where, params = ("WHERE me = ?", (me,)) if me is not None else ("", ())
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM passkeys {where} ORDER BY me, created_at, id", params
        )
        return [_passkey(row) for row in rows]

    async def by_id_prefix(self, prefix: str, limit: int) -> list[Passkey]:
        # A range over the primary key, not LIKE (whose wildcards a prefix could hold).
        rows = await self.db.fetchall(
            f"SELECT {COLUMNS} FROM passkeys WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
            (prefix, prefix + "\U0010ffff", limit),
        )
        return [_passkey(row) for row in rows]

    async def record_use(self, passkey_id: str, old_count: int, new_count: int, at: int) -> bool:
        changed = await self.db.execute(
            "UPDATE passkeys SET sign_count = ?, last_used_at = ? WHERE id = ? AND sign_count = ?",
            (new_count, at, passkey_id, old_count),
        )
        return changed == 1

    async def rename(self, passkey_id: str, me: str, name: str) -> bool:
        changed = await self.db.execute(
            "UPDATE passkeys SET name = ? WHERE id = ? AND me = ?", (name, passkey_id, me)
        )
        return changed == 1

    async def remove(self, passkey_id: str, me: str | None = None) -> bool:
        if me is None:
            removed = await self.db.execute("DELETE FROM passkeys WHERE id = ?", (passkey_id,))
        else:
            removed = await self.db.execute(
                "DELETE FROM passkeys WHERE id = ? AND me = ?", (passkey_id, me)
            )
        return removed == 1

    async def email_proven(self, me: str, at: int, email: str = "") -> None:
        await self.db.execute(
            "INSERT INTO email_proofs (me, proven_at, email) VALUES (?, ?, ?) "
            "ON CONFLICT (me) DO UPDATE SET proven_at = excluded.proven_at, "
            "email = excluded.email WHERE excluded.proven_at >= proven_at",
            (me, at, email),
        )

    async def last_proven_email(self, me: str) -> str | None:
        row = await self.db.fetchone("SELECT email FROM email_proofs WHERE me = ?", (me,))
        return str(row["email"]) if row else None

    async def email_proven_at(self, me: str) -> int | None:
        row = await self.db.fetchone("SELECT proven_at FROM email_proofs WHERE me = ?", (me,))
        return int(row["proven_at"]) if row else None


@dataclass(frozen=True)
class SQLitePasskeyChallenges:
    db: Executor

    async def insert(self, challenge: PasskeyChallenge) -> None:
        await self.db.execute(
            "INSERT INTO passkey_challenges (id, challenge_hash, purpose, me, created_at, "
            "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                challenge.id,
                challenge.challenge_hash,
                challenge.purpose.value,
                challenge.me,
                challenge.created_at,
                challenge.expires_at,
            ),
        )

    async def consume(self, challenge_id: str) -> PasskeyChallenge | None:
        row = await self.db.fetchone(
            "DELETE FROM passkey_challenges WHERE id = ? "
            "RETURNING id, challenge_hash, purpose, me, created_at, expires_at",
            (challenge_id,),
        )
        if row is None:
            return None
        return PasskeyChallenge(
            id=row["id"],
            challenge_hash=row["challenge_hash"],
            purpose=PasskeyPurpose(row["purpose"]),
            me=row["me"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
        )
