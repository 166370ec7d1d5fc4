"""How Gondulf shows a Unix time to people: UTC, to the minute."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(timestamp: int | None, *, missing: str = "never") -> str:
    if timestamp is None:
        return missing
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")
