"""The authorization server metadata document (IndieAuth §4.1.1, RFC 8414 §2)."""

from __future__ import annotations

from typing import Any

from gondulf.indieauth.endpoints import EndpointUrls
from gondulf.indieauth.scopes import DESCRIPTIONS


def server_metadata(issuer: str, documentation: str) -> dict[str, Any]:
    urls = EndpointUrls.for_issuer(issuer)
    return {
        "issuer": issuer,
        "authorization_endpoint": urls.authorization,
        "token_endpoint": urls.token,
        "introspection_endpoint": urls.introspection,
        "introspection_endpoint_auth_methods_supported": ["Bearer", "client_secret_basic"],
        "revocation_endpoint": urls.revocation,
        "revocation_endpoint_auth_methods_supported": ["none"],
        "userinfo_endpoint": urls.userinfo,
        "code_challenge_methods_supported": ["S256"],
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "scopes_supported": list(DESCRIPTIONS),
        "service_documentation": documentation,
        "authorization_response_iss_parameter_supported": True,
        "client_id_metadata_document_supported": True,
    }
