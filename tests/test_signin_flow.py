"""Whole sign-ins over real HTTP with real DNS, SMTP, homepage and client servers."""

from __future__ import annotations

from support.signin import World


async def test_modern_client_signs_in_and_gets_a_token(world: World) -> None:
    query = await world.sign_in()
    assert query["state"] == "st-123" and query["iss"] == world.issuer
    response = await world.redeem("/token", query["code"])
    body = await response.json()
    assert response.status == 200, body
    assert body["me"] == world.me and body["token_type"] == "Bearer"
    assert body["scope"] == "profile create"
    assert body["profile"]["name"] == "Jane Doe"
