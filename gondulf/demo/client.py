"""The demo app's side of IndieAuth, as any app does it over HTTP.

Discovery from the profile URL (§4.1: the homepage's `indieauth-metadata`
link, then the metadata document), the authorization request with state
and PKCE S256 (§5.2), the redirect back checked for `iss` (§5.2.1, RFC 9207),
the code redeemed at the token endpoint (§5.3), the returned `me` confirmed
(§5.3.3), then the token used: introspection (RFC 7662) and userinfo (§9).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from gondulf.errors import GondulfError
from gondulf.indieauth.endpoints import METADATA_REL
from gondulf.indieauth.pkce import s256
from gondulf.services.outside.fetch import Fetcher, FetchError
from gondulf.services.outside.homepage import discover_homepage

MAX_ANSWER_BYTES = 64 * 1024


class ClientProblem(GondulfError):
    """A step of the sign-in that failed, said for the person using the app."""


@dataclass(frozen=True)
class Server:
    """What the metadata document says about the person's authorization server."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    introspection_endpoint: str | None = None
    userinfo_endpoint: str | None = None

    @classmethod
    def from_metadata(cls, document: object, metadata_url: str) -> Server:
        if not isinstance(document, dict):
            raise ClientProblem(f"{metadata_url} is not a JSON object")

        def url(key: str) -> str | None:
            value = document.get(key)
            if value is not None and not isinstance(value, str):
                raise ClientProblem(f"{metadata_url} holds a {key} that is not a URL")
            return value

        issuer, authorization, token = (
            url("issuer"),
            url("authorization_endpoint"),
            url("token_endpoint"),
        )
        if not (issuer and authorization and token):
            raise ClientProblem(
                f"{metadata_url} lacks the issuer, authorization_endpoint or token_endpoint"
            )
        # IndieAuth §4.1.1: the issuer is a prefix of the metadata URL.
        if not metadata_url.startswith(issuer):
            raise ClientProblem(f"the issuer {issuer} does not match {metadata_url}")
        return cls(
            issuer, authorization, token, url("introspection_endpoint"), url("userinfo_endpoint")
        )


async def discover(fetcher: Fetcher, me: str) -> Server:
    """The authorization server `me` names, read from its homepage and metadata document."""
    try:
        homepage = await discover_homepage(fetcher, me)
    except FetchError as exc:
        raise ClientProblem(f"The app cannot read {me}: {exc}") from exc
    metadata_url = homepage.endpoint(METADATA_REL)
    if metadata_url is None:
        raise ClientProblem(f'{me} has no <link rel="{METADATA_REL}">, so no server to use')
    try:
        result = await fetcher.get(metadata_url, accept="application/json")
        document = json.loads(result.body)
    except FetchError as exc:
        raise ClientProblem(f"The app cannot read {metadata_url}: {exc}") from exc
    except ValueError as exc:
        raise ClientProblem(f"{metadata_url} is not JSON") from exc
    return Server.from_metadata(document, metadata_url)


@dataclass(frozen=True)
class Authorization:
    """A sign-in sent to the server: where the browser goes, and what the app keeps."""

    state: str
    verifier: str  # the PKCE code_verifier, never sent before the token request
    url: str


def authorization(
    server: Server, *, client_id: str, redirect_uri: str, me: str, scope: str
) -> Authorization:
    state = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(48)
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "state": state,
            "code_challenge": s256(verifier),
            "code_challenge_method": "S256",
            "scope": scope,
            "me": me,
        }
    )
    separator = "&" if "?" in server.authorization_endpoint else "?"
    return Authorization(state, verifier, f"{server.authorization_endpoint}{separator}{query}")


def code_from_redirect(query: Mapping[str, str], server: Server) -> str:
    """The authorization code, once the redirect is known to come from `server`."""
    # RFC 9207 §2.4: an iss that differs from the issuer means the response is not
    # from the server the sign-in was sent to (a mix-up attack); it is not used.
    if query.get("iss") != server.issuer:
        raise ClientProblem(
            f"The answer names the issuer {query.get('iss')!r}, not {server.issuer}"
        )
    if "error" in query:
        description = query.get("error_description", "")
        raise ClientProblem(f"The sign-in ended: {query['error']}. {description}".strip())
    code = query.get("code")
    if not code:
        raise ClientProblem("The answer carries neither a code nor an error")
    return code


@dataclass(frozen=True)
class Answer:
    """An endpoint's HTTP status and JSON body."""

    status: int
    body: dict[str, Any]


async def call(session: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Answer:
    headers = {"Accept": "application/json", **kwargs.pop("headers", {})}
    try:
        async with session.request(method, url, headers=headers, **kwargs) as response:
            raw = await response.content.read(MAX_ANSWER_BYTES + 1)
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise ClientProblem(f"The app cannot reach {url}: {exc or type(exc).__name__}") from exc
    try:
        body = json.loads(raw) if len(raw) <= MAX_ANSWER_BYTES else None
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ClientProblem(f"{url} answered HTTP {status} without a JSON object")
    return Answer(status, body)


async def redeem(
    session: aiohttp.ClientSession,
    server: Server,
    *,
    code: str,
    client_id: str,
    redirect_uri: str,
    verifier: str,
) -> dict[str, Any]:
    """The token response for `code` (§5.3.1), proven with the PKCE verifier."""
    answer = await call(
        session,
        "POST",
        server.token_endpoint,
        data={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
    )
    body = answer.body
    if answer.status != 200 or not body.get("access_token") or not body.get("me"):
        error = body.get("error", f"HTTP {answer.status}")
        raise ClientProblem(
            f"The token endpoint refused the code: {error}. {body.get('error_description', '')}"
        )
    return body


async def confirm_me(fetcher: Fetcher, returned: str, entered: str, server: Server) -> None:
    """§5.3.3: a `me` other than the one entered must name the same authorization server."""
    if returned == entered:
        return
    if (await discover(fetcher, returned)).issuer != server.issuer:
        raise ClientProblem(f"{returned} does not use {server.issuer}: the sign-in is not used")


async def with_token(
    session: aiohttp.ClientSession, method: str, url: str | None, token: str, **kwargs: Any
) -> Answer | None:
    """Call an endpoint with the access token as Bearer; None when the server has none."""
    if url is None:
        return None
    return await call(session, method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
