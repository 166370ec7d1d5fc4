"""Where this server's endpoints live below the issuer (IndieAuth §4, RFC 8414 §3)."""

from __future__ import annotations

from dataclasses import dataclass

METADATA_PATH = ".well-known/oauth-authorization-server"
AUTHORIZATION_PATH = "authorize"
TOKEN_PATH = "token"  # noqa: S105 - a path
INTROSPECTION_PATH = "introspect"
REVOCATION_PATH = "revoke"
USERINFO_PATH = "userinfo"
GRANTS_PATH = "grants"


@dataclass(frozen=True)
class EndpointUrls:
    metadata: str
    authorization: str
    token: str
    introspection: str
    revocation: str
    userinfo: str
    grants: str

    @classmethod
    def for_issuer(cls, issuer: str) -> EndpointUrls:
        """`issuer` ends in `/` (the settings guarantee it)."""
        return cls(
            metadata=issuer + METADATA_PATH,
            authorization=issuer + AUTHORIZATION_PATH,
            token=issuer + TOKEN_PATH,
            introspection=issuer + INTROSPECTION_PATH,
            revocation=issuer + REVOCATION_PATH,
            userinfo=issuer + USERINFO_PATH,
            grants=issuer + GRANTS_PATH,
        )

    def homepage_links(self) -> dict[str, str]:
        """The rel values a person's homepage uses to point at this server."""
        return {
            "indieauth-metadata": self.metadata,
            "authorization_endpoint": self.authorization,
            "token_endpoint": self.token,
        }
