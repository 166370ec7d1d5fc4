"""Browsers that have signed in as an identity before, so strangers cannot lock them out.

After a right code, the browser gets a signed cookie naming the identity it
proved. Sending a code for that identity to that browser then skips the
limits every party shares (per address, per domain): however many codes
strangers have had sent to a person's address, the person's own browser can
still get its code. The cookie proves nothing else: a code is still needed.
"""

from __future__ import annotations

import base64
import time

from gondulf.services.digests import keyed_digest, same

KNOWN_FOR = 90 * 86400
PURPOSE = "known-browser"


def _mac(key: str, me: str, issued_at: int) -> str:
    return keyed_digest(key, f"{PURPOSE}\0{me}\0{issued_at}")


def known_browser_value(key: str, me: str, now: float | None = None) -> str:
    issued_at = int(time.time() if now is None else now)
    encoded = base64.urlsafe_b64encode(me.encode("utf-8")).decode("ascii")
    return f"{encoded}.{issued_at}.{_mac(key, me, issued_at)}"


def known_identity(key: str, value: str, now: float | None = None) -> str | None:
    """The identity a cookie value proves this browser signed in as, if genuine and fresh."""
    try:
        encoded, issued_text, mac = value.split(".")
        me = base64.urlsafe_b64decode(encoded.encode("ascii")).decode("utf-8")
        issued_at = int(issued_text)
    except (ValueError, UnicodeError):
        return None
    current = time.time() if now is None else now
    if not 0 <= current - issued_at < KNOWN_FOR or not same(mac, _mac(key, me, issued_at)):
        return None
    return me
