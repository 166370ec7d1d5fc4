"""Redeeming codes (IndieAuth §5.3) and verifying tokens, over real HTTP."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from support.signin import World


async def error_of(response) -> str:  # type: ignore[no-untyped-def]
    assert response.headers["Cache-Control"] == "no-store"
    return str((await response.json())["error"])


async def test_code_is_single_use_and_replay_revokes_its_tokens(world: World) -> None:
    query = await world.sign_in()
    first = await world.redeem("/token", query["code"])
    token = (await first.json())["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert (await world.gondulf.get("/token", headers=auth)).status == 200
    replay = await world.redeem("/token", query["code"])
    assert replay.status == 400 and await error_of(replay) == "invalid_grant"
    assert (await world.gondulf.get("/token", headers=auth)).status == 401


async def test_wrong_verifier_is_refused(world: World) -> None:
    # The original advertised PKCE but never checked the verifier.
    query = await world.sign_in()
    response = await world.redeem("/token", query["code"], code_verifier="x" * 43)
    assert await error_of(response) == "invalid_grant"
    assert "does not match" in (await response.json())["error_description"]


async def test_missing_verifier_is_refused_when_a_challenge_was_sent(world: World) -> None:
    query = await world.sign_in()
    response = await world.redeem("/token", query["code"], code_verifier=None)
    assert await error_of(response) == "invalid_grant"


async def test_expired_code_is_refused(world: World, tmp_path: Path) -> None:
    query = await world.sign_in()
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:
        connection.execute("UPDATE authorization_codes SET expires_at = 0")
    response = await world.redeem("/token", query["code"])
    assert "expired" in (await response.json())["error_description"]


async def test_code_lives_ten_minutes_at_most(world: World, tmp_path: Path) -> None:
    await world.sign_in()
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:
        created, expires = connection.execute(
            "SELECT created_at, expires_at FROM authorization_codes"
        ).fetchone()
    assert 0 < expires - created <= 600


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_id", "http://other.test/"),
        ("redirect_uri", "http://app.test/elsewhere"),
    ],
)
async def test_client_id_and_redirect_uri_must_match_the_request(
    world: World, field: str, value: str
) -> None:
    query = await world.sign_in()
    response = await world.redeem("/token", query["code"], **{field: value})
    assert await error_of(response) == "invalid_grant"
    assert field in (await response.json())["error_description"]


@pytest.mark.parametrize("missing", ["code", "client_id", "redirect_uri"])
async def test_missing_parameter_is_invalid_request(world: World, missing: str) -> None:
    query = await world.sign_in()
    response = await world.redeem("/token", query["code"], **{missing: None})
    assert response.status == 400 and await error_of(response) == "invalid_request"


async def test_unknown_code_is_invalid_grant(world: World) -> None:
    await world.sign_in()
    response = await world.redeem("/token", "not-a-code")
    assert await error_of(response) == "invalid_grant"


async def test_unsupported_grant_type(world: World) -> None:
    response = await world.gondulf.post("/token", data={"grant_type": "password"})
    assert await error_of(response) == "unsupported_grant_type"


async def test_json_body_is_refused_with_a_clear_error(world: World) -> None:
    response = await world.gondulf.post("/token", json={"code": "x"})
    assert response.status == 400 and await error_of(response) == "invalid_request"


async def test_missing_grant_type_means_authorization_code(world: World) -> None:
    query = await world.sign_in()
    response = await world.redeem("/token", query["code"], grant_type=None)
    assert response.status == 200


async def test_code_without_scope_yields_no_access_token(world: World) -> None:
    query = await world.sign_in(scopes=[])
    response = await world.redeem("/token", query["code"])
    assert await error_of(response) == "invalid_grant"
    assert "no scope" in (await response.json())["error_description"]


async def test_authorization_endpoint_returns_me_and_profile(world: World) -> None:
    query = await world.sign_in(scope="profile email")
    response = await world.redeem("/authorize", query["code"])
    body = await response.json()
    assert response.status == 200, body
    assert body["me"] == world.me
    assert body["profile"]["name"] == "Jane Doe"
    assert body["profile"]["email"] == "jane@jane.test"
    assert "access_token" not in body


async def test_email_is_left_out_without_the_email_scope(world: World) -> None:
    query = await world.sign_in(scope="profile")
    body = await (await world.redeem("/authorize", query["code"])).json()
    assert "email" not in body["profile"]


async def test_profile_is_left_out_without_the_profile_scope(world: World) -> None:
    query = await world.sign_in(scope="create")
    body = await (await world.redeem("/token", query["code"])).json()
    assert "profile" not in body and body["me"] == world.me


async def test_authorization_endpoint_checks_pkce_like_the_token_endpoint(world: World) -> None:
    query = await world.sign_in()
    response = await world.redeem("/authorize", query["code"], code_verifier="y" * 43)
    assert response.status == 400 and await error_of(response) == "invalid_grant"


async def test_token_verification_needs_a_bearer_token(world: World) -> None:
    # The original answered GET /token with 405.
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        response = await world.gondulf.get("/token", headers=headers)
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
        assert await error_of(response) == "invalid_token"


async def test_expired_token_is_refused(world: World, tmp_path: Path) -> None:
    query = await world.sign_in()
    token = (await (await world.redeem("/token", query["code"])).json())["access_token"]
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:
        connection.execute("UPDATE tokens SET expires_at = 1")
    response = await world.gondulf.get("/token", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 401
