"""What the whole server does for safety beyond the protocol: logs, caches, slow clients.

Each test fails when its protection is removed.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from conftest import GONDULF, CliResult, Outside
from support.server_process import running_server
from support.signin import RemoteGondulf, World, homepage_html, query_of
from support.web_server import Site, html

Cli = Callable[..., Awaitable[CliResult]]

# -- no secret in any log line -------------------------------------------------------------


async def test_no_log_line_carries_a_secret_even_at_debug(outside: Outside, tmp_path: Path) -> None:
    secrets: dict[str, str] = {}
    env = {**outside.env, "GONDULF_LOG_LEVEL": "DEBUG"}
    async with running_server(GONDULF, env, tmp_path, port=outside.port) as server:
        browser = RemoteGondulf(server.url)
        world = World(
            browser, outside.issuer, outside.dns, outside.smtp, outside.homepage, outside.app
        )
        try:
            page = await world.code_page()
            secrets["csrf"] = re.findall(r'name="csrf" value="([^"]+)"', page)[0]
            secrets["session id"] = world.session_id()
            secrets["emailed code"] = world.last_code()
            response = await world.post("/authorize/code", page, code=secrets["emailed code"])
            response = await world.post(
                "/authorize/consent",
                await response.text(),
                action="approve",
                scope=["profile", "create"],
            )
            secrets["authorization code"] = query_of(response.headers["Location"])["code"]
            body = await (await world.redeem("/token", secrets["authorization code"])).json()
            secrets["access token"] = body["access_token"]
            secrets["refresh token"] = body["refresh_token"]
            await browser.post(
                "/introspect",
                data={"token": body["access_token"]},
                headers={"Authorization": f"Bearer {body['access_token']}"},
            )
            await browser.post("/revoke", data={"token": body["refresh_token"]})
        finally:
            await browser.close()
    assert "DEBUG" in server.log and "sign-in approved" in server.log  # it did log
    leaked = [name for name, value in secrets.items() if value in server.log]
    assert leaked == [], f"the log holds the {', '.join(leaked)}"


# -- caches --------------------------------------------------------------------------------


async def test_pages_with_a_csrf_value_or_personal_data_are_never_stored(world: World) -> None:
    pages = [await world.get_authorize(me=None), await world.get_authorize()]
    page = await world.code_page()
    pages.append(await world.post("/authorize/code", page, code="000000"))
    pages.append(await world.post("/authorize/code", page, code=world.last_code()))
    pages.append(await world.gondulf.get("/authorize/website"))
    pages.append(await world.get_authorize(client_id="not a url"))
    for response in pages:
        assert response.headers["Cache-Control"] == "no-store", response.url
    home = await world.gondulf.get("/")
    assert "no-store" not in home.headers.get("Cache-Control", "")


# -- slow clients ----------------------------------------------------------------------------


def _trickle(port: int, head: bytes, drip: bytes, *, limit: float) -> float:
    """Send `head`, then `drip` a byte at a time; seconds until the server hung up."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(0.25)
        sock.sendall(head)
        for byte in drip * 1000:
            if time.monotonic() - started > limit:
                break
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(65536) == b"":
                    return time.monotonic() - started
            except TimeoutError:
                continue
            except OSError:
                return time.monotonic() - started
            else:
                return time.monotonic() - started  # it answered (and will hang up)
    return time.monotonic() - started


@pytest.mark.settings(GONDULF_REQUEST_TIMEOUT="1")
async def test_a_request_body_that_trickles_in_is_cut_off(world: World) -> None:
    assert isinstance(world.gondulf, TestClient) and world.gondulf.port is not None
    port = world.gondulf.port
    head = (
        b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: "
        b"application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
    )
    waited = await asyncio.to_thread(_trickle, port, head, b"a", limit=20)
    assert waited < 10  # cut off after about GONDULF_REQUEST_TIMEOUT, not after 20 s


async def test_headers_that_trickle_in_are_cut_off(outside: Outside, tmp_path: Path) -> None:
    env = {**outside.env, "GONDULF_REQUEST_TIMEOUT": "1"}
    async with running_server(GONDULF, env, tmp_path, port=outside.port) as server:
        waited = await asyncio.to_thread(
            _trickle, server.port, b"GET / HTTP/1.1\r\n", b"X-Slow: drip\r\n", limit=20
        )
    assert waited < 10


# -- bad input is a clear answer, never a server error ---------------------------------------

LONGEST_HOST = ".".join(["a" * 63] * 3 + ["b" * 61])  # 253 characters: `_gondulf.` + it is not


async def test_a_host_too_long_for_its_txt_record_is_a_page_not_a_server_error(
    world: World,
) -> None:
    response = await world.get_authorize(me=f"https://{LONGEST_HOST}/")
    assert response.status < 500
    page = await (await world.get_authorize(me=None)).text()
    response = await world.post("/authorize/website", page, me=LONGEST_HOST)
    assert response.status == 400 and "not set up for this server" in await response.text()


async def test_verify_dns_on_a_host_too_long_for_its_txt_record(
    cli: Cli, env: dict[str, str]
) -> None:
    result = await cli("verify-dns", LONGEST_HOST, env=env)
    assert result.code == 1 and "Traceback" not in result.stderr
    assert "not a valid DNS name" in result.stdout


async def test_an_address_smtp_cannot_take_is_a_failed_email(
    world: World, sites: Callable[..., Site]
) -> None:
    site = (
        await sites("jane.test")
        .route("/", html(homepage_html(world.issuer, emails=("a@b@jane.test", "jane@jane.test"))))
        .start()
    )
    page = await (await world.get_authorize(me=site.url("/"))).text()
    assert "a@b@jane.test" not in page  # not an address: never offered
    response = await world.post("/authorize/email", page, email="0")
    assert response.status == 200 and world.smtp.mailbox.messages[-1][0] == ["jane@jane.test"]


@pytest.mark.parametrize(
    "path", ["/authorize/s/0123456789abcdef/website", "/token", "/revoke", "/introspect"]
)
async def test_an_unknown_form_charset_is_a_400(world: World, path: str) -> None:
    response = await world.gondulf.post(
        path,
        data=b"csrf=x&me=jane.test&token=x",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=no-such"},
    )
    assert response.status == 400


# -- a page answers within its time budget ---------------------------------------------------


@pytest.mark.settings(GONDULF_PAGE_TIMEOUT="1")
async def test_a_slow_homepage_is_told_within_the_page_budget(
    world: World, sites: Callable[..., Site]
) -> None:
    release = asyncio.Event()

    async def stalls(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=homepage_html(world.issuer), content_type="text/html")

    slow = await sites("jane.test").route("/", stalls).start()
    page = await (await world.get_authorize(me=None)).text()
    try:
        response = await world.post("/authorize/website", page, me=slow.url("/"))
        text = await response.text()
    finally:
        release.set()
    assert response.status == 504 and "This took too long" in text
    assert '/website"' in text and slow.url("/") in text  # filled in, to try again


@pytest.mark.settings(GONDULF_PAGE_TIMEOUT="1")
async def test_an_email_that_takes_too_long_leaves_no_code_and_uses_no_quota(
    world: World,
) -> None:
    page = await (await world.get_authorize()).text()
    world.smtp.mailbox.delay = 3
    response = await world.post("/authorize/email", page, email="0")
    assert response.status == 504 and "This took too long" in await response.text()
    world.smtp.mailbox.delay = 0
    page = await world.send_code(page)  # the first code of this sign-in, as far as it knows
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert "Allow access?" in await response.text()
