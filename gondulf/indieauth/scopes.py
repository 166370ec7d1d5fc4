"""Scopes (IndieAuth §5.2, §5.3.4): parsing and plain-language descriptions."""

from __future__ import annotations

import re

from gondulf.indieauth.errors import InvalidScope

# RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
MAX_SCOPES = 30

DESCRIPTIONS = {
    "profile": "See your name, photo and website address",
    "email": "See your email address",
    "create": "Publish new posts on your website",
    "draft": "Create draft posts on your website",
    "update": "Edit posts on your website",
    "delete": "Delete posts on your website",
    "undelete": "Restore deleted posts on your website",
    "media": "Upload photos and other files to your website",
    "read": "Read your feeds and channels",
    "follow": "Follow and unfollow feeds for you",
    "mute": "Mute and unmute people for you",
    "block": "Block and unblock people for you",
    "channels": "Manage your reader channels",
}
PROFILE_SCOPES = frozenset({"profile", "email"})


def parse_scope(value: str | None) -> tuple[str, ...]:
    """Space-separated scope tokens, in order, without duplicates."""
    if not value:
        return ()
    tokens: list[str] = []
    for token in value.split():
        if not SCOPE_TOKEN.match(token):
            raise InvalidScope(f"scope contains an invalid token: {token[:40]!r}")
        if token not in tokens:
            tokens.append(token)
    if len(tokens) > MAX_SCOPES:
        raise InvalidScope(f"at most {MAX_SCOPES} scopes may be requested")
    return tuple(tokens)


def describe(scope: str) -> str:
    return DESCRIPTIONS.get(scope, f"Permission named “{scope}” (defined by the app)")


def narrow(granted: tuple[str, ...], chosen: list[str]) -> tuple[str, ...]:
    """The scopes a person kept on the consent screen, never more than were asked."""
    return tuple(scope for scope in granted if scope in chosen)
