"""Every response carries an X-Request-Id, and only a trusted proxy may choose it."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDict
from support.database import stuck_write

from gondulf.config import Settings
from gondulf.storage.sqlite import database
from gondulf.web.app import create_app

BEHIND_TLS_PROXY = {"X-Forwarded-Proto": "https"}
NEW_ID = re.compile(r"[0-9a-f]{16}")


async def test_every_answer_carries_a_request_id_of_its_own(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "LOCK_WAIT", 0.2)
    app = create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1"))
    async with TestClient(TestServer(app), headers=BEHIND_TLS_PROXY) as client:
        async with stuck_write(client.app):
            busy = await client.post("/revoke", data={"token": "x"})
        answers = [
            busy,
            await client.get("/health"),
            await client.get("/static/style.css"),  # a file, prepared by its handler
            await client.get("/", headers={"X-Forwarded-Proto": "http"}, allow_redirects=False),
            await client.get("/authorize"),  # a page explaining the problem
            await client.get("/token"),  # an OAuth error
            await client.get("/nowhere"),
            await client.post("/health"),
        ]
    assert [answer.status for answer in answers] == [503, 200, 200, 301, 400, 401, 404, 405]
    ids = [answer.headers["X-Request-Id"] for answer in answers]
    assert all(NEW_ID.fullmatch(request_id) for request_id in ids), ids
    assert len(set(ids)) == len(ids)


async def test_a_trusted_proxy_names_the_request_id(
    make_settings: Callable[..., Settings],
) -> None:
    app = create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1"))
    async with TestClient(TestServer(app), headers=BEHIND_TLS_PROXY) as proxy:
        named = await proxy.get("/health", headers={"X-Request-Id": "edge-7f3a.1"})
        # The proxy appended its line after the client's: the nearest one counts.
        lines = CIMultiDict([("X-Request-Id", "from-the-client"), ("X-Request-Id", "edge-2")])
        appended = await proxy.get("/health", headers=lines)
        longest = await proxy.get("/health", headers={"X-Request-Id": "x" * 128})
    assert named.headers["X-Request-Id"] == "edge-7f3a.1"
    assert appended.headers["X-Request-Id"] == "edge-2"
    assert longest.headers["X-Request-Id"] == "x" * 128


@pytest.mark.parametrize(
    "offered", ["two words", "x" * 129, "id;drop=1", 'a"b', "é", "<script>", ""]
)
async def test_a_proxy_id_that_is_not_one_short_token_is_replaced(
    make_settings: Callable[..., Settings], offered: str
) -> None:
    app = create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1"))
    async with TestClient(TestServer(app), headers=BEHIND_TLS_PROXY) as proxy:
        response = await proxy.get("/health", headers={"X-Request-Id": offered})
    assert NEW_ID.fullmatch(response.headers["X-Request-Id"])


async def test_anyone_elses_request_id_is_replaced(
    make_settings: Callable[..., Settings],
) -> None:
    # The test client connects from 127.0.0.1, which is not one of these proxies.
    app = create_app(make_settings(GONDULF_TRUSTED_PROXIES="10.0.0.0/8", GONDULF_DEBUG="true"))
    async with TestClient(TestServer(app)) as stranger:
        response = await stranger.get("/health", headers={"X-Request-Id": "looks-fine"})
    assert NEW_ID.fullmatch(response.headers["X-Request-Id"])
