"""PKCE (RFC 7636) with the S256 method only, as IndieAuth §5.2 requires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from gondulf.indieauth.errors import InvalidGrant, InvalidRequest

# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"
VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# the S256 challenge is the base64url (no padding) of a SHA-256 digest: 43 characters
CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")
SUPPORTED_METHODS = ("S256",)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_challenge(challenge: str, method: str) -> None:
    """Validate a code_challenge at the authorization request."""
    if method not in SUPPORTED_METHODS:
        raise InvalidRequest("code_challenge_method must be S256")
    if not CHALLENGE.match(challenge):
        raise InvalidRequest("code_challenge must be the 43-character base64url S256 digest")


def verify(verifier: str | None, challenge: str | None) -> None:
    """RFC 7636 §4.6: the verifier must hash to the challenge; neither may appear alone."""
    if challenge is None:
        if verifier:
            raise InvalidGrant(
                "code_verifier given, but the authorization request had no code_challenge"
            )
        return
    if not verifier:
        raise InvalidGrant("code_verifier is required: the authorization request used PKCE")
    if not VERIFIER.match(verifier):
        raise InvalidGrant("code_verifier is not a valid PKCE verifier (43-128 characters)")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match the code_challenge")
