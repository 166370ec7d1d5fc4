"""Client information and redirect_uri verification (IndieAuth §4.2, §5.2).

A redirect_uri on the client_id's scheme, host and port is accepted as is.
Any other must match exactly one the client publishes: `redirect_uris` in a
JSON client metadata document, or `rel="redirect_uri"` links in its HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from gondulf.indieauth.urls import InvalidURL, canonical_redirect_uri, origin

SECRET_AUTH_METHODS_OK = ("none", None)


class InvalidClientMetadata(ValueError):
    """A client metadata document that breaks the rules; it is not used."""


@dataclass(frozen=True)
class ClientInfo:
    client_id: str
    name: str | None = None
    logo: str | None = None
    uri: str | None = None
    redirect_uris: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps(
            {
                "client_id": self.client_id,
                "name": self.name,
                "logo": self.logo,
                "uri": self.uri,
                "redirect_uris": list(self.redirect_uris),
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ClientInfo:
        data = json.loads(text)
        return cls(
            data["client_id"],
            data.get("name"),
            data.get("logo"),
            data.get("uri"),
            tuple(data.get("redirect_uris", ())),
        )

    @property
    def uri_host_differs(self) -> bool:
        """True when client_uri points at another host than the client_id: worth a warning."""
        if not self.uri:
            return False
        return urlsplit(self.uri).hostname != urlsplit(self.client_id).hostname


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


def _https_url(value: object) -> str | None:
    if isinstance(value, str) and urlsplit(value).scheme in ("http", "https"):
        return value
    return None


def parse_client_metadata(document: bytes, client_id: str) -> ClientInfo:
    """A JSON client metadata document fetched from `client_id` (§4.2.1)."""
    try:
        data = json.loads(document)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidClientMetadata("the client metadata is not JSON") from exc
    if not isinstance(data, dict):
        raise InvalidClientMetadata("the client metadata is not a JSON object")
    if data.get("client_id") != client_id:
        raise InvalidClientMetadata("its client_id does not equal the URL it was fetched from")
    if (
        "client_secret" in data
        or data.get("token_endpoint_auth_method") not in SECRET_AUTH_METHODS_OK
    ):
        raise InvalidClientMetadata(
            "it declares a client secret, which public clients must not have"
        )
    client_uri = _https_url(data.get("client_uri"))
    if client_uri and not client_id.startswith(client_uri):
        raise InvalidClientMetadata("its client_uri is not a prefix of its client_id")
    redirect_uris = data.get("redirect_uris", [])
    if not isinstance(redirect_uris, list):
        raise InvalidClientMetadata("redirect_uris is not a list")
    name = data.get("client_name")
    return ClientInfo(
        client_id=client_id,
        name=name.strip()[:200] if isinstance(name, str) and name.strip() else None,
        logo=_https_url(data.get("logo_uri")),
        uri=client_uri,
        redirect_uris=_canonical_list(redirect_uris),
    )


def _canonical_list(values: list[object]) -> tuple[str, ...]:
    found = []
    for value in values:
        if isinstance(value, str):
            try:
                found.append(canonical_redirect_uri(value))
            except InvalidURL:
                continue
    return tuple(found)


def published_redirect_uris(values: list[str]) -> tuple[str, ...]:
    return _canonical_list(list(values))


def redirect_uri_needs_client_info(client_id: str, redirect_uri: str) -> bool:
    return not same_origin(client_id, redirect_uri)


def redirect_uri_allowed(client_id: str, redirect_uri: str, info: ClientInfo | None) -> bool:
    """§5.2: same origin as client_id, or exactly one of the client's published URIs."""
    if same_origin(client_id, redirect_uri):
        return True
    return info is not None and redirect_uri in info.redirect_uris
