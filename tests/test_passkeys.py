"""Passkeys: registering one after an emailed code and signing in with it, against a real
SQLite file and a software authenticator that builds the bytes a real one does.

Every refusal is a PasskeyError with its own reason; none is a traceback.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import cbor2
import pytest
from conftest import SECRET, CliResult
from support.authenticator import SoftwareAuthenticator, b64url, unb64url

from gondulf.config import Settings, load_settings
from gondulf.services.housekeeping import purge
from gondulf.services.metrics import Metrics
from gondulf.services.passkeys import (
    CHALLENGE_LIFETIME,
    DAY,
    REGISTER_WITHIN,
    PasskeyError,
    PasskeyService,
    Reason,
)
from gondulf.services.runtime import open_services
from gondulf.storage.records import Passkey
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.migrations import apply_migrations
from gondulf.storage.sqlite.store import SQLiteStore

Cli = Callable[..., Awaitable[CliResult]]
JANE = "https://jane.test/"
BOB = "https://bob.test/"
ISSUER = "https://auth.test/"
ORIGIN = "https://auth.test"
RP_ID = "auth.test"
NOW = 2_000_000_000


def settings_for(tmp_path: Path, **changes: str) -> Settings:
    env = {
        "GONDULF_SECRET_KEY": SECRET,
        "GONDULF_BASE_URL": ISSUER,
        "GONDULF_DATABASE_URL": f"sqlite:///{tmp_path / 'gondulf.db'}",
        "GONDULF_SMTP_HOST": "127.0.0.1",
    }
    return load_settings({**env, **changes}, env_file=None)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "gondulf.db")
    await apply_migrations(db)
    yield db
    await db.close()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def make_service(
    tmp_path: Path, database: Database, metrics: Metrics
) -> Callable[..., PasskeyService]:
    def make(**changes: str) -> PasskeyService:
        store = SQLiteStore(database)
        return PasskeyService(
            settings_for(tmp_path, **changes), store.passkeys, store.passkey_challenges, metrics
        )

    return make


@pytest.fixture
def service(make_service: Callable[..., PasskeyService]) -> PasskeyService:
    return make_service()


def authenticator(sign_count: int = 0, counting: bool = True) -> SoftwareAuthenticator:
    return SoftwareAuthenticator(ORIGIN, RP_ID, sign_count=sign_count, counting=counting)


async def register(
    service: PasskeyService,
    device: SoftwareAuthenticator,
    me: str = JANE,
    now: float = NOW,
    name: str | None = None,
) -> Passkey:
    """An emailed code for `me`, then a passkey registered on `device`."""
    await service.email_proven(me, now=now)
    options, challenge_id = await service.registration_options(me, now=now)
    return await service.register(me, challenge_id, device.create(options), name, now=now)


async def refused(answer: Awaitable[object]) -> PasskeyError:
    with pytest.raises(PasskeyError) as caught:
        await answer
    return caught.value


def refusals(metrics: Metrics, reason: Reason) -> float:
    value = metrics.registry.get_sample_value(
        "gondulf_passkey_refusals_total", {"reason": reason.value}
    )
    return value or 0.0


# -- the ceremonies ----------------------------------------------------------------------------


async def test_register_then_authenticate(service: PasskeyService, metrics: Metrics) -> None:
    device = authenticator(sign_count=1)
    await service.email_proven(JANE, now=NOW)
    options_json, challenge_id = await service.registration_options(JANE, "Jane", now=NOW)
    options = json.loads(options_json)
    assert options["rp"]["id"] == RP_ID
    assert options["user"]["name"] == JANE and options["user"]["displayName"] == "Jane"
    assert JANE not in unb64url(options["user"]["id"]).decode("latin-1")  # names no one
    assert len(unb64url(options["challenge"])) >= 32
    assert options["authenticatorSelection"]["residentKey"] == "preferred"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    assert options["excludeCredentials"] == []

    passkey = await service.register(
        JANE, challenge_id, device.create(options_json), "Laptop", now=NOW
    )
    assert (passkey.me, passkey.name, passkey.credential_id) == (JANE, "Laptop", device.id)
    assert passkey.sign_count == 1 and passkey.transports == ("internal", "hybrid")

    options_json, challenge_id = await service.authentication_options(JANE, now=NOW + 60)
    options = json.loads(options_json)
    assert options["rpId"] == RP_ID and options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [device.id]

    used = await service.authenticate(JANE, challenge_id, device.get(options_json), now=NOW + 60)
    assert used.id == passkey.id
    assert used.sign_count == 2 and used.last_used_at == NOW + 60
    assert (await service.list(JANE)) == [used]
    assert metrics.registry.get_sample_value("gondulf_passkeys_registered_total") == 1
    assert metrics.registry.get_sample_value("gondulf_passkey_signins_total") == 1


async def test_the_composition_root_builds_the_passkey_service(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    async with open_services(settings, migrate=True, create=True) as services:
        passkey = await register(services.passkeys, authenticator())
        assert await services.passkeys.list() == [passkey]
        assert services.passkeys.origin == ORIGIN and services.passkeys.rp_id == RP_ID


async def test_options_exclude_and_allow_only_that_identitys_passkeys(
    service: PasskeyService,
) -> None:
    laptop, phone, bobs = authenticator(), authenticator(), authenticator()
    await register(service, laptop)
    await register(service, phone)
    await register(service, bobs, me=BOB)
    options, _ = await service.registration_options(JANE, now=NOW)
    assert {c["id"] for c in json.loads(options)["excludeCredentials"]} == {laptop.id, phone.id}
    options, _ = await service.authentication_options(JANE, now=NOW)
    assert {c["id"] for c in json.loads(options)["allowCredentials"]} == {laptop.id, phone.id}


async def test_authentication_options_without_passkeys_is_a_clear_error(
    service: PasskeyService,
) -> None:
    error = await refused(service.authentication_options(JANE, now=NOW))
    assert error.reason is Reason.NO_PASSKEYS and "emailed code" in str(error)
    assert not await service.offered_to(JANE, now=NOW)


async def test_registration_needs_a_recent_emailed_code(service: PasskeyService) -> None:
    error = await refused(service.registration_options(JANE, now=NOW))
    assert error.reason is Reason.EMAIL_FIRST
    await service.email_proven(JANE, now=NOW)
    error = await refused(service.registration_options(JANE, now=NOW + REGISTER_WITHIN + 1))
    assert error.reason is Reason.EMAIL_FIRST
    await service.registration_options(JANE, now=NOW + REGISTER_WITHIN)


async def test_a_credential_registers_once_and_to_one_identity(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    again = await refused(register(service, device))  # a client ignoring excludeCredentials
    as_bob = await refused(register(service, device, me=BOB))
    assert again.reason is as_bob.reason is Reason.ALREADY_REGISTERED
    assert [p.me for p in await service.list()] == [JANE]


# -- what the answer must say ------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin", ["https://evil.test", "http://auth.test", "https://sub.auth.test", ISSUER]
)
async def test_bad_origin_is_refused(
    service: PasskeyService, metrics: Metrics, origin: str
) -> None:
    device = authenticator()
    await service.email_proven(JANE, now=NOW)
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    error = await refused(
        service.register(JANE, challenge_id, device.create(options, origin=origin), now=NOW)
    )
    assert error.reason is Reason.BAD_ORIGIN

    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    error = await refused(
        service.authenticate(JANE, challenge_id, device.get(options, origin=origin), now=NOW)
    )
    assert error.reason is Reason.BAD_ORIGIN and ORIGIN in str(error)
    assert refusals(metrics, Reason.BAD_ORIGIN) == 2


async def test_an_answer_from_a_frame_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    answer = json.loads(device.get(options))
    client_data = json.loads(unb64url(answer["response"]["clientDataJSON"]))
    client_data["crossOrigin"] = True
    answer["response"]["clientDataJSON"] = b64url(json.dumps(client_data).encode())
    error = await refused(service.authenticate(JANE, challenge_id, json.dumps(answer), now=NOW))
    assert error.reason is Reason.BAD_ORIGIN


async def test_bad_rp_id_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await service.email_proven(JANE, now=NOW)
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    error = await refused(
        service.register(JANE, challenge_id, device.create(options, rp_id="evil.test"), now=NOW)
    )
    assert error.reason is Reason.BAD_RP_ID

    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    error = await refused(
        service.authenticate(JANE, challenge_id, device.get(options, rp_id="test"), now=NOW)
    )
    assert error.reason is Reason.BAD_RP_ID and RP_ID in str(error)


async def test_uv_flag_missing_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await service.email_proven(JANE, now=NOW)
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    error = await refused(
        service.register(JANE, challenge_id, device.create(options, user_verified=False), now=NOW)
    )
    assert error.reason is Reason.USER_NOT_VERIFIED
    assert await service.list() == []

    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    error = await refused(
        service.authenticate(JANE, challenge_id, device.get(options, user_verified=False), now=NOW)
    )
    assert error.reason is Reason.USER_NOT_VERIFIED


async def test_user_presence_missing_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    answer = device.get(options, user_present=False)
    error = await refused(service.authenticate(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.USER_NOT_PRESENT


async def test_an_attestation_that_does_not_verify_is_refused(service: PasskeyService) -> None:
    """Format "none" must carry an empty statement (§8.7); anything else is refused."""
    await service.email_proven(JANE, now=NOW)
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    answer = json.loads(authenticator().create(options))
    attestation = cbor2.loads(unb64url(answer["response"]["attestationObject"]))
    attestation["attStmt"] = {"alg": -7, "sig": b"made up"}
    answer["response"]["attestationObject"] = b64url(cbor2.dumps(attestation))
    error = await refused(service.register(JANE, challenge_id, json.dumps(answer), now=NOW))
    assert error.reason is Reason.INVALID and "did not verify" in str(error)
    assert await service.list() == []


async def test_a_signature_by_another_key_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    impostor = authenticator()
    impostor.credential_id = device.credential_id  # knows the ID, not the key
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    error = await refused(service.authenticate(JANE, challenge_id, impostor.get(options), now=NOW))
    assert error.reason is Reason.INVALID


# -- challenges --------------------------------------------------------------------------------


async def test_replayed_challenge_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    answer = device.get(options)
    await service.authenticate(JANE, challenge_id, answer, now=NOW)
    error = await refused(service.authenticate(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.CHALLENGE_USED


async def test_a_refused_answer_uses_its_challenge_up(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    await refused(
        service.authenticate(JANE, challenge_id, device.get(options, origin="x"), now=NOW)
    )
    error = await refused(service.authenticate(JANE, challenge_id, device.get(options), now=NOW))
    assert error.reason is Reason.CHALLENGE_USED


async def test_two_answers_to_one_challenge_at_once_only_one_is_taken(
    service: PasskeyService,
) -> None:
    device = authenticator(counting=False)
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    outcomes = await asyncio.gather(
        *(service.authenticate(JANE, challenge_id, device.get(options), now=NOW) for _ in "ab"),
        return_exceptions=True,
    )
    assert sum(isinstance(o, Passkey) for o in outcomes) == 1
    assert [o.reason for o in outcomes if isinstance(o, PasskeyError)] == [Reason.CHALLENGE_USED]


async def test_expired_challenge_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    late = NOW + CHALLENGE_LIFETIME
    error = await refused(service.authenticate(JANE, challenge_id, device.get(options), now=late))
    assert error.reason is Reason.CHALLENGE_EXPIRED

    await service.email_proven(JANE, now=NOW)
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    error = await refused(
        service.register(JANE, challenge_id, authenticator().create(options), now=late)
    )
    assert error.reason is Reason.CHALLENGE_EXPIRED


async def test_a_challenge_for_registration_used_for_authentication_is_refused(
    service: PasskeyService,
) -> None:
    device = authenticator()
    await register(service, device)
    registration, registration_id = await service.registration_options(JANE, now=NOW)
    signing_in, _ = await service.authentication_options(JANE, now=NOW)
    answer = device.get(signing_in, challenge=unb64url(json.loads(registration)["challenge"]))
    error = await refused(service.authenticate(JANE, registration_id, answer, now=NOW))
    assert error.reason is Reason.WRONG_PURPOSE


async def test_an_answer_of_the_other_ceremony_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    answer = device.get(options, kind="webauthn.create")
    error = await refused(service.authenticate(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.WRONG_PURPOSE


async def test_an_answer_to_another_challenge_is_refused(service: PasskeyService) -> None:
    device = authenticator()
    await register(service, device)
    first, _ = await service.authentication_options(JANE, now=NOW)
    _, second_id = await service.authentication_options(JANE, now=NOW)
    error = await refused(service.authenticate(JANE, second_id, device.get(first), now=NOW))
    assert error.reason is Reason.CHALLENGE_MISMATCH


async def test_a_challenge_made_for_another_identity_is_refused(
    service: PasskeyService,
) -> None:
    janes, bobs = authenticator(), authenticator()
    await register(service, janes)
    await register(service, bobs, me=BOB)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    error = await refused(service.authenticate(BOB, challenge_id, bobs.get(options), now=NOW))
    assert error.reason is Reason.CHALLENGE_MISMATCH


async def test_challenges_are_stored_only_as_digests(
    service: PasskeyService, database: Database
) -> None:
    await service.email_proven(JANE, now=NOW)
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    challenge = json.loads(options)["challenge"]
    rows = await database.fetchall("SELECT * FROM passkey_challenges")
    assert len(rows) == 1
    stored = dict(rows[0])
    assert stored["id"] == challenge_id and stored["purpose"] == "registration"
    assert stored["me"] == JANE and stored["expires_at"] == NOW + CHALLENGE_LIFETIME
    assert stored["challenge_hash"] == hashlib.sha256(challenge.encode()).hexdigest()
    assert challenge not in json.dumps(stored)


async def test_expired_challenges_are_purged(service: PasskeyService, database: Database) -> None:
    await service.email_proven(JANE, now=NOW)
    await service.registration_options(JANE, now=NOW)
    await service.registration_options(JANE, now=NOW + 60)
    removed = await purge(SQLiteStore(database), now=NOW + CHALLENGE_LIFETIME)
    assert removed["passkey challenges"] == 1
    assert len(await database.fetchall("SELECT id FROM passkey_challenges")) == 1


# -- which passkey -----------------------------------------------------------------------------


async def test_credential_of_another_identity_is_refused(service: PasskeyService) -> None:
    janes, bobs = authenticator(), authenticator()
    await register(service, janes)
    await register(service, bobs, me=BOB)
    options, challenge_id = await service.authentication_options(BOB, now=NOW)
    error = await refused(service.authenticate(BOB, challenge_id, janes.get(options), now=NOW))
    assert error.reason is Reason.OTHER_IDENTITY and BOB in str(error)


async def test_unknown_credential_is_refused(service: PasskeyService) -> None:
    await register(service, authenticator())
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    stranger = authenticator()
    error = await refused(service.authenticate(JANE, challenge_id, stranger.get(options), now=NOW))
    assert error.reason is Reason.UNKNOWN_CREDENTIAL


async def test_counter_regression_is_refused(service: PasskeyService, metrics: Metrics) -> None:
    """Clone detection (WebAuthn §6.1.1): a counter that does not go up is refused."""
    device = authenticator(sign_count=5)
    passkey = await register(service, device)
    assert passkey.sign_count == 5
    for replayed in (5, 3, 0):  # the same, lower, and a copy that starts again at zero
        options, challenge_id = await service.authentication_options(JANE, now=NOW)
        answer = device.get(options, sign_count=replayed)
        error = await refused(service.authenticate(JANE, challenge_id, answer, now=NOW))
        assert error.reason is Reason.COUNTER_REGRESSION and "copied" in str(error)
    assert [p.sign_count for p in await service.list(JANE)] == [5]
    assert refusals(metrics, Reason.COUNTER_REGRESSION) == 3
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    used = await service.authenticate(JANE, challenge_id, device.get(options), now=NOW)
    assert used.sign_count == 6


async def test_a_forged_answer_is_not_taken_for_a_clone(service: PasskeyService) -> None:
    device = authenticator(sign_count=5)
    await register(service, device)
    impostor = authenticator()
    impostor.credential_id = device.credential_id
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    answer = impostor.get(options, sign_count=1)
    error = await refused(service.authenticate(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.INVALID


async def test_authenticators_without_a_counter_keep_working(service: PasskeyService) -> None:
    device = authenticator(counting=False)
    await register(service, device)
    for _ in range(2):
        options, challenge_id = await service.authentication_options(JANE, now=NOW)
        used = await service.authenticate(JANE, challenge_id, device.get(options), now=NOW)
        assert used.sign_count == 0


async def test_a_copy_racing_the_original_with_the_same_counter_is_refused(
    service: PasskeyService,
) -> None:
    device = authenticator(sign_count=7)
    await register(service, device)
    answers = []
    for _ in range(2):
        options, challenge_id = await service.authentication_options(JANE, now=NOW)
        answers.append((challenge_id, device.get(options, sign_count=8)))
    outcomes = await asyncio.gather(
        *(service.authenticate(JANE, c, a, now=NOW) for c, a in answers), return_exceptions=True
    )
    assert sum(isinstance(o, Passkey) for o in outcomes) == 1
    errors = [o for o in outcomes if isinstance(o, PasskeyError)]
    assert [e.reason for e in errors] == [Reason.COUNTER_REGRESSION]


# -- malformed answers -------------------------------------------------------------------------


def _tampered(answer: str, response_field: str, value: object) -> str:
    data = json.loads(answer)
    data["response"][response_field] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: "not json",
        lambda a: "[]",
        lambda a: "{}",
        lambda a: '"a string"',
        lambda a: a[: len(a) // 2],
        lambda a: "x" * 100_000,
        lambda a: "[" * 20_000 + "]" * 20_000,
        lambda a: _tampered(a, "clientDataJSON", b64url(b"[" * 20_000 + b"]" * 20_000)),
        lambda a: _tampered(a, "clientDataJSON", "!!!"),
        lambda a: _tampered(a, "clientDataJSON", b64url(b"[1, 2]")),
        lambda a: _tampered(a, "clientDataJSON", b64url(b'{"type": "webauthn.get"}')),
        lambda a: _tampered(
            a,
            "clientDataJSON",
            b64url(b'{"type": "webauthn.get", "challenge": "AAAA", "origin": 443}'),
        ),
        lambda a: _tampered(a, "authenticatorData", b64url(b"short")),
        lambda a: _tampered(a, "signature", 42),
        lambda a: json.dumps({**json.loads(a), "type": "password"}),
        lambda a: json.dumps({**json.loads(a), "rawId": b64url(b"other")}),
    ],
)
async def test_malformed_json_is_refused(
    service: PasskeyService, mangle: Callable[[str], str]
) -> None:
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    answer = mangle(device.get(options))
    error = await refused(service.authenticate(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.MALFORMED
    assert str(error) == "The browser's answer could not be read."


@pytest.mark.parametrize(
    "mangle",
    [
        lambda a: "{",
        lambda a: _tampered(a, "attestationObject", b64url(b"\xa1not cbor")),
        lambda a: _tampered(a, "attestationObject", b64url(b"\xa0")),
        lambda a: json.dumps({**json.loads(a), "rawId": b64url(b"other"), "id": b64url(b"other")}),
    ],
)
async def test_malformed_registration_is_refused(
    service: PasskeyService, mangle: Callable[[str], str]
) -> None:
    await service.email_proven(JANE, now=NOW)
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    answer = mangle(authenticator().create(options))
    error = await refused(service.register(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.MALFORMED
    assert await service.list() == []


# -- settings ----------------------------------------------------------------------------------


async def test_passkeys_off_refuses(make_service: Callable[..., PasskeyService]) -> None:
    on = make_service()
    device = authenticator()
    await register(on, device)
    signing_in, signing_in_id = await on.authentication_options(JANE, now=NOW)
    registering, registering_id = await on.registration_options(JANE, now=NOW)
    off = make_service(GONDULF_PASSKEYS="false")
    assert not off.available and not await off.offered_to(JANE, now=NOW)
    for attempt in (
        off.registration_options(JANE, now=NOW),
        off.authentication_options(JANE, now=NOW),
        off.authenticate(JANE, signing_in_id, device.get(signing_in), now=NOW),
        off.register(JANE, registering_id, authenticator().create(registering), now=NOW),
    ):
        error = await refused(attempt)
        assert error.reason is Reason.OFF and "turned off" in str(error)


async def test_development_on_localhost_works_and_an_ip_address_is_refused(
    make_service: Callable[..., PasskeyService], tmp_path: Path
) -> None:
    local = make_service(GONDULF_BASE_URL="http://localhost:8000/", GONDULF_DEBUG="true")
    assert (local.rp_id, local.origin) == ("localhost", "http://localhost:8000")
    device = SoftwareAuthenticator("http://localhost:8000", "localhost")
    await register(local, device)
    options, challenge_id = await local.authentication_options(JANE, now=NOW)
    await local.authenticate(JANE, challenge_id, device.get(options), now=NOW)

    address = make_service(GONDULF_BASE_URL="http://127.0.0.1:8000/", GONDULF_DEBUG="true")
    assert not address.available and not await address.offered_to(JANE, now=NOW)
    error = await refused(address.authentication_options(JANE, now=NOW))
    assert error.reason is Reason.NO_HOST_NAME and "127.0.0.1" in str(error)
    warned = settings_for(tmp_path, GONDULF_BASE_URL="http://127.0.0.1:8000/").warnings()
    assert "GONDULF_PASSKEYS" in [w.variable for w in warned]
    assert (
        settings_for(tmp_path, GONDULF_PASSKEYS="false", GONDULF_TRUSTED_PROXIES="::1").warnings()
        == []
    )


async def test_the_origin_leaves_out_the_default_port_and_the_path(
    make_service: Callable[..., PasskeyService],
) -> None:
    service = make_service(GONDULF_BASE_URL="https://Example.COM:443/auth/")
    assert (service.rp_id, service.origin) == ("example.com", "https://example.com")
    assert make_service(GONDULF_BASE_URL="https://example.com:8443/").origin == (
        "https://example.com:8443"
    )


async def test_email_reproof_after_n_days(make_service: Callable[..., PasskeyService]) -> None:
    service = make_service(GONDULF_EMAIL_REPROOF_DAYS="30")
    device = authenticator()
    await register(service, device)  # the emailed code at NOW
    almost = NOW + 30 * DAY - 1
    assert await service.offered_to(JANE, now=almost)
    options, challenge_id = await service.authentication_options(JANE, now=almost)
    await service.authenticate(JANE, challenge_id, device.get(options), now=almost)

    due = NOW + 30 * DAY
    assert await service.needs_email_reproof(JANE, now=due)
    assert not await service.offered_to(JANE, now=due)
    error = await refused(service.authentication_options(JANE, now=due))
    assert error.reason is Reason.EMAIL_REPROOF_DUE and "30 days" in str(error)
    late = await refused(service.authenticate(JANE, challenge_id, device.get(options), now=due))
    assert late.reason is Reason.CHALLENGE_USED

    await service.email_proven(JANE, now=due)  # an emailed code again: the passkey is back
    options, challenge_id = await service.authentication_options(JANE, now=due)
    await service.authenticate(JANE, challenge_id, device.get(options), now=due)


async def test_an_answer_begun_before_the_reproof_was_due_is_refused_after(
    make_service: Callable[..., PasskeyService],
) -> None:
    service = make_service(GONDULF_EMAIL_REPROOF_DAYS="1")
    device = authenticator()
    await register(service, device)
    options, challenge_id = await service.authentication_options(JANE, now=NOW + DAY - 10)
    error = await refused(
        service.authenticate(JANE, challenge_id, device.get(options), now=NOW + DAY)
    )
    assert error.reason is Reason.EMAIL_REPROOF_DUE


async def test_email_reproof_days_zero_never_asks_again(
    make_service: Callable[..., PasskeyService],
) -> None:
    service = make_service(GONDULF_EMAIL_REPROOF_DAYS="0")
    device = authenticator()
    await register(service, device)
    years = NOW + 3650 * DAY
    assert not await service.needs_email_reproof(JANE, now=years)
    options, challenge_id = await service.authentication_options(JANE, now=years)
    await service.authenticate(JANE, challenge_id, device.get(options), now=years)


def test_email_reproof_days_must_be_a_whole_number_of_zero_or_more(tmp_path: Path) -> None:
    for bad in ("-1", "thirty", "3651"):
        with pytest.raises(Exception, match="GONDULF_EMAIL_REPROOF_DAYS"):
            settings_for(tmp_path, GONDULF_EMAIL_REPROOF_DAYS=bad)
    assert settings_for(tmp_path).email_reproof_days == 30
    assert settings_for(tmp_path).passkeys is True


# -- managing passkeys -------------------------------------------------------------------------


async def test_rename_and_remove_only_ones_own(service: PasskeyService) -> None:
    device = authenticator()
    passkey = await register(service, device)
    assert (await service.rename(JANE, passkey.id, "  Phone ")).name == "Phone"
    assert (await refused(service.rename(BOB, passkey.id, "Mine"))).reason is Reason.NOT_FOUND
    assert (await refused(service.rename(JANE, passkey.id, "\x1b[2J"))).reason is Reason.BAD_NAME
    assert (await refused(service.remove(BOB, passkey.id))).reason is Reason.NOT_FOUND
    assert [p.name for p in await service.list(JANE)] == ["Phone"]

    options, challenge_id = await service.authentication_options(JANE, now=NOW)
    answer = device.get(options)
    assert (await service.remove(JANE, passkey.id)).id == passkey.id
    error = await refused(service.authenticate(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.UNKNOWN_CREDENTIAL
    assert (await refused(service.remove(None, passkey.id))).reason is Reason.NOT_FOUND


async def test_an_identity_has_at_most_twenty_passkeys(service: PasskeyService) -> None:
    for _ in range(19):
        await register(service, authenticator())
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    await register(service, authenticator())  # the twentieth, meanwhile
    answer = authenticator().create(options)
    error = await refused(service.register(JANE, challenge_id, answer, now=NOW))
    assert error.reason is Reason.TOO_MANY
    error = await refused(register(service, authenticator()))
    assert error.reason is Reason.TOO_MANY and "remove one" in str(error)


# -- the command line --------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"GONDULF_DATABASE_URL": f"sqlite:///{tmp_path / 'gondulf.db'}"}


async def test_cli_passkeys_list_and_remove(
    cli: Cli, env: dict[str, str], service: PasskeyService
) -> None:
    janes = await register(service, authenticator(), name="Jane's laptop")
    bobs = await register(service, authenticator(), me=BOB, name="Bob's phone")

    listed = await cli("passkeys", "list", "--json", env=env)
    assert listed.code == 0, listed.stderr
    assert [(p["id"], p["me"], p["name"]) for p in json.loads(listed.stdout)] == [
        (bobs.id, BOB, "Bob's phone"),
        (janes.id, JANE, "Jane's laptop"),
    ]
    only_jane = json.loads(
        (await cli("passkeys", "list", "--me", "jane.test", "--json", env=env)).stdout
    )
    assert [p["id"] for p in only_jane] == [janes.id]
    table = await cli("passkeys", "list", env=env)
    assert table.code == 0 and "2 passkey(s)" in table.stdout and janes.id in table.stdout

    declined = await cli("passkeys", "remove", janes.id[:6], env=env, input="n\n")
    assert declined.code == 1 and "nothing was changed" in declined.stderr
    unanswered = await cli("passkeys", "remove", janes.id, env=env)
    assert unanswered.code == 2 and "--yes" in unanswered.stderr
    unknown = await cli("passkeys", "remove", "ffffffffffffffff0", "--yes", env=env)
    assert unknown.code == 1 and "no passkey's ID starts with" in unknown.stderr

    removed = await cli("passkeys", "remove", janes.id[:6], "--yes", "--json", env=env)
    assert removed.code == 0, removed.stderr
    assert json.loads(removed.stdout) == {"removed": janes.id, "me": JANE, "name": "Jane's laptop"}
    assert [p.id for p in await service.list()] == [bobs.id]
    said = await cli("passkeys", "remove", bobs.id, "--yes", env=env)
    assert said.code == 0 and f"Removed passkey {bobs.id}" in said.stdout
    assert await service.list() == []


async def test_cli_remove_refuses_an_id_start_that_fits_several(
    cli: Cli, env: dict[str, str], service: PasskeyService, database: Database
) -> None:
    for passkey_id in ("abc0000000000001", "abc0000000000002"):
        await database.execute(
            "INSERT INTO passkeys (id, me, credential_id, public_key, name, created_at) "
            "VALUES (?, ?, ?, x'00', 'Key', 1)",
            (passkey_id, JANE, passkey_id),
        )
    result = await cli("passkeys", "remove", "abc", "--yes", env=env)
    assert result.code == 2 and "several IDs" in result.stderr
    assert len(await service.list()) == 2


async def test_restore_removes_again_passkeys_removed_since_the_backup(
    cli: Cli, env: dict[str, str], tmp_path: Path
) -> None:
    """A passkey removed after the backup stays removed, and no counter goes back."""

    async def with_service(work: Callable[[PasskeyService], Awaitable[None]]) -> None:
        db = await Database.open(tmp_path / "gondulf.db")
        try:
            await apply_migrations(db)
            store = SQLiteStore(db)
            await work(
                PasskeyService(
                    settings_for(tmp_path), store.passkeys, store.passkey_challenges, Metrics()
                )
            )
        finally:
            await db.close()

    kept_device, removed_device = authenticator(), authenticator()
    registered: dict[str, Passkey] = {}

    async def before(service: PasskeyService) -> None:
        registered["kept"] = await register(service, kept_device)
        registered["removed"] = await register(service, removed_device)

    async def since(service: PasskeyService) -> None:
        options, challenge_id = await service.authentication_options(JANE, now=NOW)
        await service.authenticate(JANE, challenge_id, kept_device.get(options), now=NOW)
        await service.remove(None, registered["removed"].id)
        await register(service, authenticator())

    await with_service(before)
    assert (await cli("backup", str(tmp_path / "copy.db"), env=env)).code == 0
    await with_service(since)
    result = await cli("restore", str(tmp_path / "copy.db"), "--yes", "--json", env=env)
    assert result.code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["passkeys_removed_again"], report["passkeys_lost"]) == (1, 1)
    restored = sqlite3.connect(tmp_path / "gondulf.db")
    try:
        rows = restored.execute("SELECT id, sign_count FROM passkeys").fetchall()
    finally:
        restored.close()
    kept = registered["kept"]
    assert rows == [(kept.id, kept.sign_count + 1)]  # the counter never goes back


async def test_a_passkey_works_only_while_the_address_of_its_code_is_listed(
    service: PasskeyService,
) -> None:
    device = authenticator()
    await service.email_proven(JANE, now=NOW, email="jane@jane.test")
    options, challenge_id = await service.registration_options(JANE, now=NOW)
    passkey = await service.register(JANE, challenge_id, device.create(options), now=NOW)
    assert passkey.email == "jane@jane.test"  # the address of the code it was added after
    assert await service.offered_to(JANE, listed=("Jane@jane.test",), now=NOW)
    assert not await service.offered_to(JANE, listed=("bob@jane.test",), now=NOW)
    request, challenge_id = await service.authentication_options(JANE, now=NOW)
    refusal = await refused(
        service.authenticate(
            JANE, challenge_id, device.get(request), now=NOW, listed=("bob@jane.test",)
        )
    )
    assert refusal.reason == Reason.ADDRESS_GONE
    request, challenge_id = await service.authentication_options(
        JANE, listed=("jane@jane.test", "bob@jane.test"), now=NOW
    )
    used = await service.authenticate(
        JANE, challenge_id, device.get(request), now=NOW, listed=("jane@jane.test",)
    )
    assert used.id == passkey.id


async def test_an_unknown_id_is_not_echoed_whole(service: PasskeyService) -> None:
    refusal = await refused(service.remove(JANE, "f" * 15_000))
    assert refusal.reason == Reason.NOT_FOUND and len(str(refusal)) < 100
