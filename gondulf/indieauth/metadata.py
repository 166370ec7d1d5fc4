"""The authorization server metadata document (IndieAuth §4.1.1, RFC 8414 §2)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gondulf.indieauth.scopes import DESCRIPTIONS


def server_metadata(
    issuer: str, endpoints: Mapping[str, str], *, documentation: str
) -> dict[str, Any]:
    """The document: `endpoints` are the server's own, by their RFC 8414 keys
    (`authorization_endpoint`, `token_endpoint`...); the rest says what they support."""
    return {
        "issuer": issuer,
        **endpoints,
        "introspection_endpoint_auth_methods_supported": ["Bearer", "client_secret_basic"],
        "revocation_endpoint_auth_methods_supported": ["none"],
        "code_challenge_methods_supported": ["S256"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": list(DESCRIPTIONS),
        "service_documentation": documentation,
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
    }
