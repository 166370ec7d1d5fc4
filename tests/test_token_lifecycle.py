"""Refresh tokens, introspection, revocation and userinfo over real HTTP."""

from __future__ import annotations

import asyncio
import base64
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from support.signin import World

from gondulf.services.bookkeeping import Bookkeeping
from gondulf.services.tokens.resource_servers import ResourceServerService
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.store import SQLiteStore


async def tokens(world: World, scope: str = "profile create") -> dict[str, Any]:
    query = await world.sign_in(scope=scope)
    response = await world.redeem("/token", query["code"])
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


async def refresh(world: World, refresh_token: str, **extra: str) -> Any:
    return await world.gondulf.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": world.client_id,
            **extra,
        },
    )


async def is_active(world: World, token: str) -> bool:
    response = await world.gondulf.post(
        "/introspect", data={"token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    return bool((await response.json())["active"])


async def resource_server(tmp_path: Path) -> str:
    db = await Database.open(tmp_path / "gondulf.db")
    try:
        _, credential = await ResourceServerService(
            SQLiteStore(db).resource_servers, Bookkeeping()
        ).add("micropub")
    finally:
        await db.close()
    return credential


# -- refresh tokens (§5.5, RFC 9700) -----------------------------------------------------------


async def test_refresh_token_is_issued_beside_the_access_token(world: World) -> None:
    body = await tokens(world)
    assert body["refresh_token"] and body["refresh_token"] != body["access_token"]


async def test_refresh_rotates_and_keeps_the_scope(world: World) -> None:
    first = await tokens(world)
    response = await refresh(world, first["refresh_token"])
    second = await response.json()
    assert response.status == 200, second
    assert second["scope"] == "profile create" and second["me"] == world.me
    assert second["refresh_token"] != first["refresh_token"]
    assert await is_active(world, second["access_token"])
    again = await refresh(world, second["refresh_token"])
    assert again.status == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_family(world: World) -> None:
    first = await tokens(world)
    second = await (await refresh(world, first["refresh_token"])).json()
    reuse = await refresh(world, first["refresh_token"])
    assert reuse.status == 400 and (await reuse.json())["error"] == "invalid_grant"
    for token in (first["access_token"], second["access_token"], second["refresh_token"]):
        assert not await is_active(world, token)


async def test_refresh_may_narrow_but_never_widen_the_scope(world: World) -> None:
    first = await tokens(world)
    wider = await refresh(world, first["refresh_token"], scope="profile create delete")
    assert (await wider.json())["error"] == "invalid_scope"
    narrower = await refresh(world, first["refresh_token"], scope="create")
    body = await narrower.json()
    assert narrower.status == 200, body
    assert body["scope"] == "create" and "profile" not in body


async def test_refresh_needs_the_same_client(world: World) -> None:
    first = await tokens(world)
    response = await world.gondulf.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "http://other.test/",
        },
    )
    assert (await response.json())["error"] == "invalid_grant"


async def test_refresh_token_expires_after_inactivity(world: World, tmp_path: Path) -> None:
    first = await tokens(world)
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:
        connection.execute("UPDATE tokens SET expires_at = 1 WHERE kind = 'refresh'")
    response = await refresh(world, first["refresh_token"])
    assert (await response.json())["error"] == "invalid_grant"


@pytest.mark.settings(GONDULF_REFRESH_TOKEN_EXPIRY="0")
async def test_no_refresh_token_when_the_operator_turns_them_off(world: World) -> None:
    assert "refresh_token" not in await tokens(world)


async def test_access_token_is_not_a_refresh_token(world: World) -> None:
    first = await tokens(world)
    response = await refresh(world, first["access_token"])
    assert (await response.json())["error"] == "invalid_grant"


# -- introspection (RFC 7662) ------------------------------------------------------------------


async def test_introspection_requires_authentication(world: World) -> None:
    body = await tokens(world)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic !!"}):
        response = await world.gondulf.post(
            "/introspect", data={"token": body["access_token"]}, headers=headers
        )
        assert response.status == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_resource_server_introspects_with_bearer_or_basic(
    world: World, tmp_path: Path
) -> None:
    credential = await resource_server(tmp_path)
    body = await tokens(world)
    basic = base64.b64encode(f"micropub:{credential}".encode()).decode()
    for header in (f"Bearer {credential}", f"Basic {basic}"):
        response = await world.gondulf.post(
            "/introspect", data={"token": body["access_token"]}, headers={"Authorization": header}
        )
        data = await response.json()
        assert data["active"] is True
        assert data["me"] == world.me and data["client_id"] == world.client_id
        assert data["scope"] == "profile create" and data["token_type"] == "Bearer"
        assert data["exp"] - data["iat"] == 3600


async def test_unknown_revoked_or_expired_token_is_exactly_inactive(
    world: World, tmp_path: Path
) -> None:
    credential = await resource_server(tmp_path)
    auth = {"Authorization": f"Bearer {credential}"}
    body = await tokens(world)
    unknown = await world.gondulf.post("/introspect", data={"token": "nope"}, headers=auth)
    assert await unknown.json() == {"active": False}
    await world.gondulf.post("/revoke", data={"token": body["access_token"]})
    revoked = await world.gondulf.post(
        "/introspect", data={"token": body["access_token"]}, headers=auth
    )
    assert await revoked.json() == {"active": False}
    second = await tokens(world)
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:
        connection.execute("UPDATE tokens SET expires_at = 1")
    expired = await world.gondulf.post(
        "/introspect", data={"token": second["access_token"]}, headers=auth
    )
    assert await expired.json() == {"active": False}


async def test_removed_resource_server_cannot_introspect(world: World, tmp_path: Path) -> None:
    credential = await resource_server(tmp_path)
    db = await Database.open(tmp_path / "gondulf.db")
    await ResourceServerService(SQLiteStore(db).resource_servers, Bookkeeping()).remove("micropub")
    await db.close()
    response = await world.gondulf.post(
        "/introspect", data={"token": "x"}, headers={"Authorization": f"Bearer {credential}"}
    )
    assert response.status == 401


async def test_credentials_are_stored_only_as_digests(tmp_path: Path, world: World) -> None:
    credential = await resource_server(tmp_path)
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:
        assert credential not in "\n".join(connection.iterdump())


# -- revocation (RFC 7009) ---------------------------------------------------------------------


async def test_revoked_access_token_stops_working_at_once(world: World) -> None:
    body = await tokens(world)
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await world.gondulf.get("/token", headers=auth)).status == 200
    response = await world.gondulf.post("/revoke", data={"token": body["access_token"]})
    assert response.status == 200
    assert (await world.gondulf.get("/token", headers=auth)).status == 401
    assert (await world.gondulf.get("/userinfo", headers=auth)).status == 401


async def test_revoking_an_unknown_token_is_200(world: World) -> None:
    response = await world.gondulf.post("/revoke", data={"token": "never-issued"})
    assert response.status == 200


async def test_revoking_a_refresh_token_ends_its_access_tokens(world: World) -> None:
    body = await tokens(world)
    await world.gondulf.post("/revoke", data={"token": body["refresh_token"]})
    assert not await is_active(world, body["access_token"])
    assert (await refresh(world, body["refresh_token"])).status == 400


async def test_legacy_revocation_at_the_token_endpoint(world: World) -> None:
    body = await tokens(world)
    response = await world.gondulf.post(
        "/token", data={"action": "revoke", "token": body["access_token"]}
    )
    assert response.status == 200
    assert not await is_active(world, body["access_token"])


async def test_revocation_without_token_is_invalid_request(world: World) -> None:
    response = await world.gondulf.post("/revoke", data={})
    assert response.status == 400 and (await response.json())["error"] == "invalid_request"


# -- userinfo (§9) -----------------------------------------------------------------------------


async def test_userinfo_with_profile_and_email(world: World) -> None:
    body = await tokens(world, scope="profile email")
    response = await world.gondulf.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert await response.json() == {
        "name": "Jane Doe",
        "url": world.me,
        "photo": world.homepage.url("/photo.jpg"),
        "email": "jane@jane.test",
    }


async def test_userinfo_without_email_scope_has_no_email(world: World) -> None:
    body = await tokens(world, scope="profile")
    response = await world.gondulf.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert "email" not in await response.json()


async def test_userinfo_needs_the_profile_scope(world: World) -> None:
    body = await tokens(world, scope="create")
    response = await world.gondulf.get(
        "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert response.status == 403
    assert (await response.json())["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]


async def test_userinfo_needs_a_valid_token(world: World) -> None:
    response = await world.gondulf.get("/userinfo", headers={"Authorization": "Bearer x"})
    assert response.status == 401 and (await response.json())["error"] == "invalid_token"


async def test_metadata_advertises_the_lifecycle_endpoints(world: World) -> None:
    document = await (await world.gondulf.get("/.well-known/oauth-authorization-server")).json()
    assert document["introspection_endpoint"] == f"{world.issuer}introspect"
    assert document["revocation_endpoint"] == f"{world.issuer}revoke"
    assert document["revocation_endpoint_auth_methods_supported"] == ["none"]
    assert document["userinfo_endpoint"] == f"{world.issuer}userinfo"
    assert "refresh_token" in document["grant_types_supported"]


async def test_token_use_is_recorded_for_the_grants_page(world: World, tmp_path: Path) -> None:
    body = await tokens(world)
    await world.gondulf.get("/token", headers={"Authorization": f"Bearer {body['access_token']}"})
    used = None
    for _ in range(100):  # recorded in the background, after the answer
        with sqlite3.connect(tmp_path / "gondulf.db") as connection:
            used = connection.execute(
                "SELECT last_used_at FROM tokens WHERE kind = 'access'"
            ).fetchone()[0]
        if used is not None:
            break
        await asyncio.sleep(0.05)
    assert used is not None


async def test_concurrent_use_of_one_refresh_token_is_reuse(world: World) -> None:
    first = await tokens(world)
    responses = await asyncio.gather(*(refresh(world, first["refresh_token"]) for _ in range(3)))
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) <= 1 and statuses.count(400) >= 2
    # whoever won, the refresh token was presented more than once: the family is revoked
    for response in responses:
        if response.status == 200:
            assert not await is_active(world, (await response.json())["access_token"])
