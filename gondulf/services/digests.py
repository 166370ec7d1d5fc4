"""Random secrets and how they are stored: only digests, compared in constant time.

Tokens, session ids and authorization codes carry 256 bits, so a plain
SHA-256 is enough. A 6-digit emailed code has only a million values, so it
is keyed with the server's secret (HMAC): a copy of the database alone does
not reveal it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

CODE_DIGITS = 6


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def new_id() -> str:
    """A public handle for administration (never a secret): 16 hex digits.

    Hex, so that an ID typed on a command line can never look like an option.
    """
    return secrets.token_hex(8)


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def keyed_digest(key: str, value: str) -> str:
    return hmac.new(key.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
