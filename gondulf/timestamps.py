"""How Gondulf shows a time to people: UTC to the minute, and relative to now.

`utc_text` is exact ("2026-11-29 14:02 UTC"); `relative_text` is how far from now
("3 days ago", "in 10 minutes", "just now") and `duration_text` how long ("10 minutes").
"""

from __future__ import annotations

from datetime import UTC, datetime

# Each unit is used up to the next one's threshold; amounts are rounded to the nearest.
_UNITS = (  # (seconds in one, used below this many seconds, name)
    (60, 45 * 60, "minute"),
    (3600, 22 * 3600, "hour"),
    (86400, 26 * 86400, "day"),
    (30 * 86400, 320 * 86400, "month"),
    (365 * 86400, None, "year"),
)
JUST_NOW = 45  # seconds either side of now that are "just now"


def utc_text(timestamp: int | None, *, missing: str = "never") -> str:
    if timestamp is None:
        return missing
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso_text(timestamp: int) -> str:
    """`2026-11-29T14:02:05Z`: for machines (the datetime attribute of <time>)."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def duration_text(seconds: float) -> str:
    """`45 seconds`, `10 minutes`, `1 hour`, `3 days`: a length of time, rounded."""
    seconds = abs(seconds)
    if seconds < JUST_NOW:
        count = max(1, int(seconds + 0.5))
        return f"{count} second{'' if count == 1 else 's'}"
    for size, below, name in _UNITS:
        if below is None or seconds < below:
            count = max(1, int(seconds / size + 0.5))
            return f"{count} {name}{'' if count == 1 else 's'}"
    raise AssertionError("the last unit has no limit")  # pragma: no cover


def relative_text(timestamp: float, now: float) -> str:
    """`3 days ago`, `in 10 minutes`, or `just now` within 45 seconds either way."""
    delta = timestamp - now
    if abs(delta) < JUST_NOW:
        return "just now"
    amount = duration_text(delta)
    return f"in {amount}" if delta > 0 else f"{amount} ago"
