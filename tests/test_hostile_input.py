"""Hostile and malformed input never gets a 500 or a traceback, only a documented error."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.signin import World

FIELDS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "scope",
    "me",
    "code",
    "code_verifier",
    "grant_type",
    "refresh_token",
    "token",
    "action",
    "csrf",
    "email",
    "grant",
]
TEXT = st.one_of(
    st.text(max_size=300),
    st.sampled_from(
        [
            "http://127.0.0.1:1/",
            "https://[::1]/",
            "javascript:alert(1)",
            "https://app.test/%00",
            "https://a.test/" + "a" * 3000,
            "S256",
            "plain",
            "authorization_code",
            "refresh_token",
            "revoke",
            "\u202e",
            "0",
            "-1",
        ]
    ),
)
PARAMS = st.dictionaries(st.sampled_from(FIELDS), TEXT, max_size=8)
HOSTILE = settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "40")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
PATHS_GET = [
    "/authorize",
    "/token",
    "/userinfo",
    "/grants",
    "/authorize/website",
    "/authorize/grants",
    "/.well-known/oauth-authorization-server",
    "/health",
    "/",
]
PATHS_POST = [
    "/authorize",
    "/token",
    "/introspect",
    "/revoke",
    "/authorize/website",
    "/authorize/email",
    "/authorize/code",
    "/authorize/resend",
    "/authorize/consent",
    "/grants/revoke",
    "/grants/signout",
]


@HOSTILE
@given(params=PARAMS, path=st.sampled_from(PATHS_GET))
async def test_no_query_makes_a_server_error(
    world: World, params: dict[str, str], path: str
) -> None:
    clean = {k: v.replace("\x00", "") for k, v in params.items()}
    response = await world.gondulf.get(path, params=clean, allow_redirects=False)
    assert response.status < 500 or response.status in (502, 503), await response.text()
    assert "Traceback" not in await response.text()


@HOSTILE
@given(
    params=PARAMS,
    path=st.sampled_from(PATHS_POST),
    auth=st.sampled_from([None, "Bearer x", "Basic !!", "Basic Og==", "Bearer "]),
)
async def test_no_form_makes_a_server_error(
    world: World, params: dict[str, str], path: str, auth: str | None
) -> None:
    headers = {"Authorization": auth} if auth else {}
    response = await world.gondulf.post(path, data=params, headers=headers, allow_redirects=False)
    assert response.status < 500, await response.text()


async def test_non_form_bodies_get_clear_errors(world: World) -> None:
    for path in ("/token", "/introspect", "/revoke", "/authorize"):
        response = await world.gondulf.post(
            path, data=b"\xff\xfe garbage", headers={"Content-Type": "application/octet-stream"}
        )
        assert response.status in (400, 401)
        assert "error" in await response.json()
