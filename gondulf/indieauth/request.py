"""The authorization request (IndieAuth §5.2).

Checked in two steps. First client_id and redirect_uri: until the
redirect_uri is verified, an error is shown as a page and never redirected.
Then the rest, whose errors go back to the client by redirect.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass

from gondulf.indieauth import pkce
from gondulf.indieauth.errors import InvalidRequest, UnsupportedResponseType
from gondulf.indieauth.scopes import PROFILE_SCOPES, parse_scope
from gondulf.indieauth.urls import (
    InvalidURL,
    canonical_client_id,
    canonical_profile_url,
    canonical_redirect_uri,
)

MAX_STATE = 2000


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    state: str
    scope: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    me_hint: str | None  # canonical `me` the client suggested, never trusted
    profile_only: bool  # response_type=id or none: sign-in without an access token

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> AuthorizationRequest:
        data = json.loads(text)
        data["scope"] = tuple(data["scope"])
        return cls(**data)


def client_and_redirect(params: Mapping[str, str]) -> tuple[str, str]:
    """The canonical client_id and redirect_uri, or InvalidURL (shown as a page)."""
    client_id = canonical_client_id(params.get("client_id", ""))
    redirect_uri = canonical_redirect_uri(params.get("redirect_uri", ""))
    return client_id, redirect_uri


def parse_request(
    params: Mapping[str, str],
    client_id: str,
    redirect_uri: str,
    *,
    allow_no_pkce: bool,
    debug: bool,
) -> AuthorizationRequest:
    """The rest of the request, once redirect_uri is verified; errors are OAuthErrors."""
    response_type = params.get("response_type", "")
    if response_type not in ("code", "id", ""):
        raise UnsupportedResponseType("response_type must be code")
    state = params.get("state", "")
    if not state:
        raise InvalidRequest("state is required")
    if len(state) > MAX_STATE:
        raise InvalidRequest(f"state is longer than {MAX_STATE} characters")
    scope = parse_scope(params.get("scope"))
    profile_only = response_type != "code"
    if profile_only:
        scope = tuple(s for s in scope if s in PROFILE_SCOPES)
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method given without code_challenge")
        if not allow_no_pkce:
            raise InvalidRequest(
                "PKCE is required: send code_challenge and code_challenge_method=S256"
            )
    else:
        pkce.check_challenge(challenge, method or "plain")
    me_hint = None
    if params.get("me"):
        try:
            me_hint = canonical_profile_url(params["me"], debug=debug)
        except InvalidURL:
            me_hint = None  # only a hint: the person is asked instead
    return AuthorizationRequest(
        client_id, redirect_uri, state, scope, challenge, method, me_hint, profile_only
    )
