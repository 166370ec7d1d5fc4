"""A software WebAuthn authenticator and the browser around it, for tests.

It holds a real ES256 (P-256) key, builds the bytes an authenticator and a browser
build — authenticatorData (rpIdHash, flags, signCount, attested credential data with a
COSE key), an attestationObject in format "none", clientDataJSON, assertion signatures
over authenticatorData || SHA-256(clientDataJSON) — and answers in the JSON shape browsers
send (PublicKeyCredential.toJSON(): base64url everywhere). Every part a hostile client
could change (origin, RP ID, challenge, ceremony type, flags, counter, credential ID) can
be overridden, and it never enforces excludeCredentials or allowCredentials: a server
must not rely on a client to.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, AT = 0x01, 0x04, 0x40  # authenticatorData flags: user present, verified, attested data
AAGUID = bytes(16)  # "none" attestation: the authenticator does not say what it is


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftwareAuthenticator:
    """One credential on one authenticator, used through a browser at `origin`.

    `sign_count` is the counter the next answer carries; each answer adds one unless
    `counting` is False (then it stays 0, as many platform authenticators do).
    """

    def __init__(self, origin: str, rp_id: str, *, sign_count: int = 0, counting: bool = True):
        self.origin = origin
        self.rp_id = rp_id
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(32)
        self.sign_count = sign_count
        self.counting = counting
        self.user_handle: bytes | None = None  # remembered from registration (a resident key)

    @property
    def id(self) -> str:
        return b64url(self.credential_id)

    def cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,  # kty: EC2
                3: -7,  # alg: ES256
                -1: 1,  # crv: P-256
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def authenticator_data(
        self, rp_id: str, flags: int, sign_count: int, *, attested: bool = False
    ) -> bytes:
        data = hashlib.sha256(rp_id.encode("utf-8")).digest()
        data += bytes([flags | (AT if attested else 0)]) + struct.pack(">I", sign_count)
        if attested:
            data += AAGUID + struct.pack(">H", len(self.credential_id)) + self.credential_id
            data += self.cose_key()
        return data

    def client_data(self, kind: str, challenge: bytes, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": b64url(challenge), "origin": origin, "crossOrigin": False}
        ).encode("utf-8")

    def _next_count(self, override: int | None) -> int:
        if override is not None:
            return override
        count = self.sign_count
        if self.counting:
            self.sign_count += 1
        return count

    def create(
        self,
        options_json: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        kind: str = "webauthn.create",
        user_verified: bool = True,
        user_present: bool = True,
        sign_count: int | None = None,
    ) -> str:
        """The browser's answer to navigator.credentials.create(options), as JSON."""
        options = json.loads(options_json)
        self.user_handle = unb64url(options["user"]["id"])
        flags = (UP if user_present else 0) | (UV if user_verified else 0)
        auth_data = self.authenticator_data(
            rp_id or options["rp"]["id"], flags, self._next_count(sign_count), attested=True
        )
        client_data = self.client_data(
            kind, challenge or unb64url(options["challenge"]), origin or self.origin
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": {
                    "clientDataJSON": b64url(client_data),
                    "attestationObject": b64url(attestation),
                    "transports": ["internal", "hybrid"],
                },
            }
        )

    def get(
        self,
        options_json: str,
        *,
        origin: str | None = None,
        rp_id: str | None = None,
        challenge: bytes | None = None,
        kind: str = "webauthn.get",
        user_verified: bool = True,
        user_present: bool = True,
        sign_count: int | None = None,
    ) -> str:
        """The browser's answer to navigator.credentials.get(options), as JSON."""
        options = json.loads(options_json)
        flags = (UP if user_present else 0) | (UV if user_verified else 0)
        auth_data = self.authenticator_data(
            rp_id or options["rpId"], flags, self._next_count(sign_count)
        )
        client_data = self.client_data(
            kind, challenge or unb64url(options["challenge"]), origin or self.origin
        )
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        response: dict[str, Any] = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(signature),
            "userHandle": b64url(self.user_handle) if self.user_handle else None,
        }
        return json.dumps(
            {
                "id": self.id,
                "rawId": self.id,
                "type": "public-key",
                "authenticatorAttachment": "platform",
                "clientExtensionResults": {},
                "response": response,
            }
        )
