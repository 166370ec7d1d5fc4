"""Passkeys (WebAuthn Level 2): registering one for an identity, and proving it with one.

A passkey is registered after a sign-in proven by an emailed code and is bound to that one
identity (`me`). At later sign-ins it stands in for the emailed code, never for the DNS
record (always checked by the sign-in), and only while the identity's last emailed code
is at most GONDULF_EMAIL_REPROOF_DAYS old: the emailed code is what shows that the
homepage still names an address the person reads.

The relying party's ID is the host of GONDULF_BASE_URL, and the only origin accepted is
the issuer's own (§7.1 step 9, §7.2 step 13), never in a frame (`crossOrigin`). User
verification is required (§7.1 step 15, §7.2 step 17); attestation is not asked for.
Each challenge is 32 random bytes, stored only as its SHA-256 digest, bound to one
identity and one purpose, valid five minutes and used up by the first answer, right or
wrong. A signature counter that does not increase is refused as a possible clone (§6.1.1).

Every refusal is a PasskeyError: `reason` is a fixed code (metrics, logs) and the message
a plain sentence a page can show. Nothing here knows about HTTP.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gondulf.config import Settings
from gondulf.errors import EXIT_CHECK_FAILED, GondulfError
from gondulf.indieauth.issuer import is_ip_literal
from gondulf.services.digests import keyed_digest, new_id, same, token_digest
from gondulf.services.metrics import Metrics
from gondulf.storage.records import Passkey, PasskeyChallenge, PasskeyPurpose
from gondulf.storage.repositories import PasskeyChallenges, Passkeys
from gondulf.timestamps import utc_text

if TYPE_CHECKING:
    from webauthn.helpers.structs import AuthenticatorData, CollectedClientData

log = logging.getLogger("gondulf.passkeys")

CHALLENGE_BYTES = 32
CHALLENGE_LIFETIME = 300  # seconds; also the browser's timeout hint
REGISTER_WITHIN = 3600  # seconds after an emailed code during which a passkey may be added
MAX_PER_IDENTITY = 20
MAX_NAME_LENGTH = 60
MAX_ANSWER_LENGTH = 64 * 1024  # a browser's answer is a few kilobytes
DAY = 86400
ES256, EDDSA, RS256 = -7, -8, -257  # COSE algorithms offered, most preferred first
TRANSPORTS = frozenset({"usb", "nfc", "ble", "smart-card", "hybrid", "internal", "cable"})
CREATE, GET = "webauthn.create", "webauthn.get"  # clientDataJSON's `type` of each ceremony


class Reason(enum.StrEnum):
    """Why a passkey was refused: a closed set, used as a metrics label."""

    OFF = "passkeys-off"
    NO_HOST_NAME = "no-host-name"
    MALFORMED = "malformed"
    CHALLENGE_USED = "challenge-used"
    CHALLENGE_EXPIRED = "challenge-expired"
    WRONG_PURPOSE = "wrong-purpose"
    CHALLENGE_MISMATCH = "challenge-mismatch"
    BAD_ORIGIN = "bad-origin"
    BAD_RP_ID = "bad-rp-id"
    USER_NOT_PRESENT = "user-not-present"
    USER_NOT_VERIFIED = "user-not-verified"
    UNKNOWN_CREDENTIAL = "unknown-credential"
    OTHER_IDENTITY = "other-identity"
    COUNTER_REGRESSION = "counter-regression"
    INVALID = "invalid"
    ALREADY_REGISTERED = "already-registered"
    NO_PASSKEYS = "no-passkeys"
    TOO_MANY = "too-many"
    EMAIL_FIRST = "email-first"
    EMAIL_REPROOF_DUE = "email-reproof-due"
    NOT_FOUND = "not-found"
    ADDRESS_GONE = "address-gone"
    BAD_NAME = "bad-name"


class PasskeyError(GondulfError):
    """A passkey refused, with a sentence for the person and a fixed `reason` code."""

    exit_code = EXIT_CHECK_FAILED

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class _Answer:
    """A browser's answer, parsed but not yet trusted."""

    credential: Any  # webauthn's RegistrationCredential or AuthenticationCredential
    credential_id: str  # base64url, as stored
    client_data: CollectedClientData
    auth_data: AuthenticatorData


def _now(now: float | None) -> int:
    return int(time.time() if now is None else now)


def _b64url(data: bytes) -> str:
    from webauthn.helpers import bytes_to_base64url

    return bytes_to_base64url(data)


def _parse(purpose: PasskeyPurpose, text: str) -> _Answer:
    """The answer's credential, client data and authenticator data, or MALFORMED."""
    from webauthn.helpers import (
        parse_attestation_object,
        parse_authentication_credential_json,
        parse_authenticator_data,
        parse_client_data_json,
        parse_registration_credential_json,
    )
    from webauthn.helpers.exceptions import WebAuthnException

    if not isinstance(text, str) or len(text) > MAX_ANSWER_LENGTH:
        raise PasskeyError(Reason.MALFORMED, "The browser's answer could not be read.")
    try:
        if purpose is PasskeyPurpose.REGISTRATION:
            credential: Any = parse_registration_credential_json(text)
            auth_data = parse_attestation_object(credential.response.attestation_object).auth_data
            attested = auth_data.attested_credential_data
            if attested is None or attested.credential_id != credential.raw_id:
                raise ValueError("the attested credential is not the one answered with")
        else:
            credential = parse_authentication_credential_json(text)
            auth_data = parse_authenticator_data(credential.response.authenticator_data)
        if credential.id != _b64url(credential.raw_id):
            raise ValueError("id and rawId name different credentials")
        client_data = parse_client_data_json(credential.response.client_data_json)
        if not isinstance(client_data.origin, str) or not isinstance(client_data.type, str):
            raise ValueError("clientDataJSON's origin and type must be strings")
    # Untrusted bytes through JSON, base64url and CBOR parsers: any of these means unreadable
    # (RecursionError: JSON nested thousands deep).
    except (
        WebAuthnException,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        AttributeError,
        RecursionError,
    ):
        raise PasskeyError(Reason.MALFORMED, "The browser's answer could not be read.") from None
    return _Answer(credential, _b64url(credential.raw_id), client_data, auth_data)


class PasskeyService:
    def __init__(
        self,
        settings: Settings,
        passkeys: Passkeys,
        challenges: PasskeyChallenges,
        metrics: Metrics,
    ) -> None:
        self._settings = settings
        self._passkeys = passkeys
        self._challenges = challenges
        self._metrics = metrics
        issuer = urlsplit(settings.base_url)
        self.rp_id = issuer.hostname or ""
        default_port = {"https": 443, "http": 80}.get(issuer.scheme)
        port = "" if issuer.port in (None, default_port) else f":{issuer.port}"
        host = f"[{self.rp_id}]" if ":" in self.rp_id else self.rp_id
        self.origin = f"{issuer.scheme}://{host}{port}"

    @property
    def enabled(self) -> bool:
        return self._settings.passkeys

    @property
    def available(self) -> bool:
        """Switched on, and the issuer has a host name browsers accept as relying party."""
        return self.enabled and bool(self.rp_id) and not is_ip_literal(self.rp_id)

    def _require_available(self) -> None:
        if not self.enabled:
            raise PasskeyError(Reason.OFF, "Passkeys are turned off on this server.")
        if not self.available:
            raise PasskeyError(
                Reason.NO_HOST_NAME,
                f"Passkeys need this server to be reached by a host name, and {self.rp_id} "
                "is an IP address.",
            )

    # -- the emailed code a passkey stands in for --------------------------------------------

    async def email_proven(self, me: str, now: float | None = None, *, email: str = "") -> None:
        """Record a sign-in of `me` proven by an emailed code to `email` (call it after
        every one)."""
        await self._passkeys.email_proven(me, _now(now), email)

    async def needs_email_reproof(self, me: str, now: float | None = None) -> bool:
        """Whether `me`'s last emailed code is older than GONDULF_EMAIL_REPROOF_DAYS (or
        unknown): then the next sign-in needs an emailed code, whatever passkeys it has."""
        days = self._settings.email_reproof_days
        if days == 0:
            return False
        proven_at = await self._passkeys.email_proven_at(me)
        return proven_at is None or _now(now) - proven_at >= days * DAY

    async def offered_to(
        self, me: str, listed: tuple[str, ...] | None = None, now: float | None = None
    ) -> bool:
        """Whether a sign-in as `me` may be proven with a passkey now. `listed`: the
        addresses the homepage lists now; only passkeys added after a code to one of them
        count (a domain's former owner's passkey stops when their address goes)."""
        return (
            self.available
            and bool(_usable(await self._passkeys.find(me), listed))
            and not await self.needs_email_reproof(me, now)
        )

    # -- registration ------------------------------------------------------------------------

    async def registration_options(
        self, me: str, display_name: str | None = None, now: float | None = None
    ) -> tuple[str, str]:
        """The options for `navigator.credentials.create()` (JSON) and the challenge's ID
        to keep in the sign-in session. Only within an hour of an emailed code for `me`."""
        from webauthn import generate_registration_options, options_to_json
        from webauthn.helpers.structs import (
            AuthenticatorSelectionCriteria,
            ResidentKeyRequirement,
            UserVerificationRequirement,
        )

        at = _now(now)
        self._require_available()
        proven_at = await self._passkeys.email_proven_at(me)
        if proven_at is None or at - proven_at > REGISTER_WITHIN:
            raise PasskeyError(
                Reason.EMAIL_FIRST,
                "A passkey can be added only just after signing in with an emailed code.",
            )
        existing = await self._passkeys.find(me)
        if len(existing) >= MAX_PER_IDENTITY:
            raise PasskeyError(
                Reason.TOO_MANY,
                f"{me} has {len(existing)} passkeys, the most one identity may have: "
                "remove one first.",
            )
        challenge, challenge_id = await self._new_challenge(PasskeyPurpose.REGISTRATION, me, at)
        options = generate_registration_options(
            rp_id=self.rp_id,
            rp_name=f"Gondulf ({self.rp_id})",
            user_id=self._user_handle(me),
            user_name=me,
            user_display_name=display_name or _shown(me),
            challenge=challenge,
            timeout=CHALLENGE_LIFETIME * 1000,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[_descriptor(p) for p in existing],
            supported_pub_key_algs=_algorithms(),
        )
        return options_to_json(options), challenge_id

    async def register(
        self,
        me: str,
        challenge_id: str,
        credential_json: str,
        name: str | None = None,
        now: float | None = None,
        *,
        email: str = "",
    ) -> Passkey:
        """Verify the browser's answer to `navigator.credentials.create()` and keep the
        passkey for `me`, bound to `email`, the address whose emailed code proved `me`
        (it then works only while the homepage lists that address); the challenge is used
        up whatever the outcome."""
        from webauthn import verify_registration_response
        from webauthn.helpers.exceptions import WebAuthnException

        at = _now(now)
        try:
            self._require_available()
            name = _checked_name(name) if name is not None else _default_name(at)
            email = email or await self._passkeys.last_proven_email(me) or ""
            challenge = await self._challenges.consume(challenge_id)
            answer = _parse(PasskeyPurpose.REGISTRATION, credential_json)
            self._check(PasskeyPurpose.REGISTRATION, me, challenge, answer, at)
            if len(await self._passkeys.find(me)) >= MAX_PER_IDENTITY:
                raise PasskeyError(Reason.TOO_MANY, f"{me} has the most passkeys allowed.")
            try:
                # The challenge was compared with the stored digest above (the raw challenge
                # is kept nowhere), so it is passed on as the client data holds it.
                verified = verify_registration_response(
                    credential=answer.credential,
                    expected_challenge=answer.client_data.challenge,
                    expected_rp_id=self.rp_id,
                    expected_origin=self.origin,
                    require_user_verification=True,
                    supported_pub_key_algs=_algorithms(),
                )
            except (WebAuthnException, ValueError, TypeError, KeyError, IndexError):
                raise PasskeyError(
                    Reason.INVALID, "The passkey's answer did not verify; try again."
                ) from None
            transports = answer.credential.response.transports or []
            passkey = Passkey(
                id=new_id(),
                me=me,
                credential_id=_b64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                name=name,
                transports=tuple(t.value for t in transports if t.value in TRANSPORTS),
                created_at=at,
                email=email,
            )
            if not await self._passkeys.insert(passkey):
                raise PasskeyError(
                    Reason.ALREADY_REGISTERED, "This passkey is registered here already."
                )
        except PasskeyError as exc:
            self._refused(PasskeyPurpose.REGISTRATION, me, exc)
            raise
        self._metrics.passkey_registered()
        log.info("passkey %s registered for %s", passkey.id, me)
        return passkey

    # -- authentication ----------------------------------------------------------------------

    async def authentication_options(
        self, me: str, listed: tuple[str, ...] | None = None, now: float | None = None
    ) -> tuple[str, str]:
        """The options for `navigator.credentials.get()` (JSON), allowing only `me`'s
        passkeys (those bound to a `listed` address, when given), and the challenge's ID
        to keep in the sign-in session."""
        from webauthn import generate_authentication_options, options_to_json
        from webauthn.helpers.structs import UserVerificationRequirement

        at = _now(now)
        self._require_available()
        passkeys = _usable(await self._passkeys.find(me), listed)
        if not passkeys:
            raise PasskeyError(
                Reason.NO_PASSKEYS, f"{me} has no passkey here: sign in with an emailed code."
            )
        await self._require_recent_email(me, at)
        challenge, challenge_id = await self._new_challenge(PasskeyPurpose.AUTHENTICATION, me, at)
        options = generate_authentication_options(
            rp_id=self.rp_id,
            challenge=challenge,
            timeout=CHALLENGE_LIFETIME * 1000,
            allow_credentials=[_descriptor(p) for p in passkeys],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return options_to_json(options), challenge_id

    async def authenticate(
        self,
        me: str,
        challenge_id: str,
        credential_json: str,
        now: float | None = None,
        *,
        listed: tuple[str, ...] | None = None,
    ) -> Passkey:
        """Verify the browser's answer to `navigator.credentials.get()` as proof of `me`;
        returns the passkey with its new counter and last use. The challenge is used up
        whatever the outcome."""
        from webauthn import verify_authentication_response
        from webauthn.helpers.exceptions import WebAuthnException

        at = _now(now)
        try:
            self._require_available()
            challenge = await self._challenges.consume(challenge_id)
            answer = _parse(PasskeyPurpose.AUTHENTICATION, credential_json)
            self._check(PasskeyPurpose.AUTHENTICATION, me, challenge, answer, at)
            passkey = await self._passkeys.by_credential_id(answer.credential_id)
            if passkey is None:
                raise _unknown_credential()
            if passkey.me != me:
                raise PasskeyError(
                    Reason.OTHER_IDENTITY, f"This passkey is not registered for {me}."
                )
            if not _usable([passkey], listed):
                raise PasskeyError(
                    Reason.ADDRESS_GONE,
                    "This passkey was added after a code to an address your homepage no "
                    "longer lists: sign in with an emailed code.",
                )
            await self._require_recent_email(me, at)
            try:
                # The library checks the counter before the signature; it is given 0 here
                # and the counter is checked below, so that only a genuine answer is ever
                # taken for a clone.
                verified = verify_authentication_response(
                    credential=answer.credential,
                    expected_challenge=answer.client_data.challenge,
                    expected_rp_id=self.rp_id,
                    expected_origin=self.origin,
                    credential_public_key=passkey.public_key,
                    credential_current_sign_count=0,
                    require_user_verification=True,
                )
            except (WebAuthnException, ValueError, TypeError, KeyError, IndexError):
                raise PasskeyError(
                    Reason.INVALID, "The passkey's signature did not verify; try again."
                ) from None
            count = verified.new_sign_count
            if (count or passkey.sign_count) and count <= passkey.sign_count:
                raise _counter_regression(passkey)
            if not await self._passkeys.record_use(passkey.id, passkey.sign_count, count, at):
                # Used meanwhile with the same counter (a copy racing the original), or removed.
                if await self._passkeys.by_credential_id(passkey.credential_id) is None:
                    raise _unknown_credential()
                raise _counter_regression(passkey)
        except PasskeyError as exc:
            self._refused(PasskeyPurpose.AUTHENTICATION, me, exc)
            raise
        self._metrics.passkey_signed_in()
        log.info("sign-in as %s proven with passkey %s", me, passkey.id)
        return replace(passkey, sign_count=count, last_used_at=at)

    # -- administration ----------------------------------------------------------------------

    async def with_id_prefix(self, prefix: str, limit: int) -> list[Passkey]:
        """Up to `limit` passkeys whose ID starts with `prefix` (a whole ID is its own)."""
        return await self._passkeys.by_id_prefix(prefix, limit)

    async def list(self, me: str | None = None) -> list[Passkey]:
        """Every passkey, or `me`'s, by identity then age."""
        return await self._passkeys.find(me)

    async def rename(self, me: str, passkey_id: str, name: str) -> Passkey:
        """Rename one of `me`'s passkeys."""
        name = _checked_name(name)
        passkey = await self._one(me, passkey_id)
        if not await self._passkeys.rename(passkey.id, me, name):
            raise _not_found(passkey_id)
        return replace(passkey, name=name)

    async def remove(self, me: str | None, passkey_id: str) -> Passkey:
        """Remove a passkey (only one of `me`'s, when given); it stops working at once."""
        passkey = await self._one(me, passkey_id)
        if not await self._passkeys.remove(passkey.id, me):
            raise _not_found(passkey_id)
        log.info("passkey %s of %s removed", passkey.id, passkey.me)
        return passkey

    # -- the parts ---------------------------------------------------------------------------

    async def _one(self, me: str | None, passkey_id: str) -> Passkey:
        found = [p for p in await self._passkeys.by_id_prefix(passkey_id, 1) if p.id == passkey_id]
        if not found or (me is not None and found[0].me != me):
            raise _not_found(passkey_id)
        return found[0]

    def _user_handle(self, me: str) -> bytes:
        """WebAuthn's user.id: the same for every passkey of `me`, naming no one (§14.6.1)."""
        return bytes.fromhex(keyed_digest(self._settings.secret_key, f"passkey-user\0{me}"))

    async def _new_challenge(self, purpose: PasskeyPurpose, me: str, at: int) -> tuple[bytes, str]:
        challenge = secrets.token_bytes(CHALLENGE_BYTES)
        record = PasskeyChallenge(
            id=new_id(),
            challenge_hash=token_digest(_b64url(challenge)),
            purpose=purpose,
            me=me,
            created_at=at,
            expires_at=at + CHALLENGE_LIFETIME,
        )
        await self._challenges.insert(record)
        return challenge, record.id

    async def _require_recent_email(self, me: str, at: int) -> None:
        if await self.needs_email_reproof(me, at):
            raise PasskeyError(
                Reason.EMAIL_REPROOF_DUE,
                f"It has been more than {self._settings.email_reproof_days} days since {me} "
                "last signed in with an emailed code: sign in with a code this time.",
            )

    def _check(
        self,
        purpose: PasskeyPurpose,
        me: str,
        challenge: PasskeyChallenge | None,
        answer: _Answer,
        at: int,
    ) -> None:
        """The challenge, the client data and the authenticator data, in the order §7.1 and
        §7.2 check them, each failure with its own reason."""
        start_again = "start again."
        if challenge is None:
            raise PasskeyError(
                Reason.CHALLENGE_USED, f"This passkey request was used already: {start_again}"
            )
        expected_type = CREATE if purpose is PasskeyPurpose.REGISTRATION else GET
        if challenge.purpose is not purpose or answer.client_data.type != expected_type:
            raise PasskeyError(
                Reason.WRONG_PURPOSE,
                f"This answer was made for another step than this one: {start_again}",
            )
        if challenge.me != me:
            raise PasskeyError(
                Reason.CHALLENGE_MISMATCH,
                f"This passkey request was made for another identity: {start_again}",
            )
        if challenge.expires_at <= at:
            raise PasskeyError(
                Reason.CHALLENGE_EXPIRED, f"This passkey request has expired: {start_again}"
            )
        if not same(token_digest(_b64url(answer.client_data.challenge)), challenge.challenge_hash):
            raise PasskeyError(
                Reason.CHALLENGE_MISMATCH,
                f"The passkey answered another request than this one: {start_again}",
            )
        if answer.client_data.origin != self.origin or answer.client_data.cross_origin:
            raise PasskeyError(
                Reason.BAD_ORIGIN, f"The passkey was used on another site than {self.origin}."
            )
        expected_rp = hashlib.sha256(self.rp_id.encode("utf-8")).digest()
        if not hmac.compare_digest(answer.auth_data.rp_id_hash, expected_rp):
            raise PasskeyError(
                Reason.BAD_RP_ID, f"The passkey was made for another site than {self.rp_id}."
            )
        if not answer.auth_data.flags.up:
            raise PasskeyError(
                Reason.USER_NOT_PRESENT, "The passkey did not confirm that you were there."
            )
        if not answer.auth_data.flags.uv:
            raise PasskeyError(
                Reason.USER_NOT_VERIFIED,
                "The passkey did not check it was you (a PIN, fingerprint or face): "
                "passkeys here need that check.",
            )

    def _refused(self, purpose: PasskeyPurpose, me: str, exc: PasskeyError) -> None:
        self._metrics.passkey_refused(exc.reason)
        level = logging.WARNING if exc.reason is Reason.COUNTER_REGRESSION else logging.INFO
        log.log(level, "passkey %s for %s refused: %s", purpose.value, me, exc.reason.value)


def _usable(passkeys: list[Passkey], listed: tuple[str, ...] | None) -> list[Passkey]:
    """The passkeys bound to an address the homepage lists (all, when `listed` is None)."""
    if listed is None:
        return passkeys
    lowered = {address.lower() for address in listed}
    return [passkey for passkey in passkeys if passkey.email.lower() in lowered]


def _algorithms() -> list[Any]:
    from webauthn.helpers.cose import COSEAlgorithmIdentifier

    return [COSEAlgorithmIdentifier(alg) for alg in (ES256, EDDSA, RS256)]


def _descriptor(passkey: Passkey) -> Any:
    from webauthn import base64url_to_bytes
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.credential_id),
        transports=[AuthenticatorTransport(t) for t in passkey.transports] or None,
    )


def _checked_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise PasskeyError(
            Reason.BAD_NAME,
            f"A passkey's name must be 1 to {MAX_NAME_LENGTH} printable characters.",
        )
    return name


def _shown(me: str) -> str:
    """`https://jane.example/` as people write it: `jane.example`."""
    return me.split("://", 1)[-1].rstrip("/")


def _default_name(at: int) -> str:
    return f"Passkey added {utc_text(at)[:10]}"


def _unknown_credential() -> PasskeyError:
    return PasskeyError(
        Reason.UNKNOWN_CREDENTIAL,
        "This passkey is not registered here (it may have been removed): sign in with an "
        "emailed code.",
    )


def _counter_regression(passkey: Passkey) -> PasskeyError:
    return PasskeyError(
        Reason.COUNTER_REGRESSION,
        f"The passkey “{passkey.name}” answered with a counter that did not go up, a sign "
        "that it may have been copied, so it was refused. Sign in with an emailed code.",
    )


def _not_found(passkey_id: str) -> PasskeyError:
    return PasskeyError(Reason.NOT_FOUND, f"There is no passkey {passkey_id[:24]!r}.")
