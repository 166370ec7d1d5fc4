"""How people and apps find this server (IndieAuth §4, RFC 8414 §3).

The metadata document lives at a well-known path below the issuer; a
person's homepage points at it with `rel="indieauth-metadata"`, and, for
older apps, at the authorization and token endpoints directly.
"""

from __future__ import annotations

from collections.abc import Mapping

METADATA_PATH = ".well-known/oauth-authorization-server"
METADATA_REL = "indieauth-metadata"
LEGACY_RELS = ("authorization_endpoint", "token_endpoint")  # also their RFC 8414 keys


def metadata_url(issuer: str) -> str:
    """`issuer` ends in `/` (the settings guarantee it)."""
    return issuer + METADATA_PATH


def homepage_links(issuer: str, endpoints: Mapping[str, str]) -> dict[str, str]:
    """The rel values a person's homepage uses to point at this server, and their URLs."""
    return {METADATA_REL: metadata_url(issuer), **{rel: endpoints[rel] for rel in LEGACY_RELS}}
