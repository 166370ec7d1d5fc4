"""Scopes (IndieAuth §5.2, §5.3.4): parsing and plain-language descriptions."""

from __future__ import annotations

import re
from dataclasses import dataclass

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

# How the consent page groups what an app asks for, in this order; a scope no group
# names is the app's own, listed last.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("See who you are", ("profile", "email")),
    ("Read for you", ("read",)),
    ("Change your website", ("create", "draft", "update", "media", "undelete", "delete")),
    ("Act for you in your reader", ("follow", "channels", "mute", "block")),
)
OTHER_GROUP = "Other permissions the app defines"
# What removes or hides things: shown marked, and not granted unless ticked.
DESTRUCTIVE = frozenset({"delete", "block", "mute"})


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


@dataclass(frozen=True)
class Permission:
    scope: str
    text: str
    destructive: bool


def grouped(scopes: tuple[str, ...]) -> list[tuple[str, list[Permission]]]:
    """The scopes asked for, as the consent page lists them: by group, in GROUPS' order."""
    known = {scope: title for title, members in GROUPS for scope in members}
    groups: dict[str, list[Permission]] = {title: [] for title, _ in GROUPS}
    groups[OTHER_GROUP] = []
    order = {scope: index for _, members in GROUPS for index, scope in enumerate(members)}
    for scope in sorted(scopes, key=lambda scope: order.get(scope, len(order))):
        permission = Permission(scope, describe(scope), scope in DESTRUCTIVE)
        groups[known.get(scope, OTHER_GROUP)].append(permission)
    return [(title, members) for title, members in groups.items() if members]


def narrow(granted: tuple[str, ...], chosen: list[str]) -> tuple[str, ...]:
    """The scopes a person kept on the consent screen, never more than were asked."""
    return tuple(scope for scope in granted if scope in chosen)
