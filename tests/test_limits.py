"""Abuse limits count what each party can do, so strangers cannot spend a person's budget.

Client addresses are varied through a trusted proxy's X-Forwarded-For: the
test client connects from 127.0.0.1, which these tests list as the proxy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiohttp import ClientResponse, web
from multidict import CIMultiDict
from support.signin import World, action, homepage_html
from support.web_server import Site, html

from gondulf.config import load_settings
from gondulf.errors import ConfigError

PROXY = {"GONDULF_TRUSTED_PROXIES": "127.0.0.1"}
STRANGER, PERSON = "203.0.113.5", "198.51.100.7"


def from_ip(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def start(world: World, ip: str, **changes: str | None) -> ClientResponse:
    """A fresh browser at `ip` starts a sign-in."""
    world.gondulf.session.cookie_jar.clear()
    world.params = world.authorize_params(**changes)
    return await world.gondulf.get("/authorize", params=world.params, headers=from_ip(ip))


async def ask_for_code(world: World, ip: str, index: int = 0) -> ClientResponse:
    response = await start(world, ip)
    page = await response.text()
    return await world.gondulf.post(
        action(page, "/authorize/email"), data=_form(page, email=str(index)), headers=from_ip(ip)
    )


def _form(page: str, **fields: str) -> dict[str, str]:
    from support.signin import CSRF

    match = CSRF.search(page)
    assert match, page
    return {"csrf": match.group(1), **fields}


@pytest.mark.settings(**PROXY)
async def test_a_stranger_cannot_use_up_a_persons_codes(world: World) -> None:
    for _ in range(5):  # GONDULF_LIMIT_CODES_PER_IP
        assert (await ask_for_code(world, STRANGER)).status == 200
    refused = await ask_for_code(world, STRANGER)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert "from your network" in await refused.text()
    assert len(world.smtp.mailbox.messages) == 5
    response = await ask_for_code(world, PERSON)  # the person, from their own network
    assert response.status == 200 and "Enter your code" in await response.text()


@pytest.mark.settings(**PROXY, GONDULF_LIMIT_CODES_PER_IP="2", GONDULF_LIMIT_CODES_PER_ADDRESS="3")
async def test_codes_per_address(world: World) -> None:
    for ip in ("192.0.2.1", "192.0.2.1", "192.0.2.2"):
        assert (await ask_for_code(world, ip)).status == 200
    refused = await ask_for_code(world, "192.0.2.3")
    assert refused.status == 429 and "to this address" in await refused.text()


@pytest.mark.settings(
    **PROXY,
    GONDULF_LIMIT_CODES_PER_IP="1",
    GONDULF_LIMIT_CODES_PER_ADDRESS="2",
    GONDULF_LIMIT_CODES_PER_DOMAIN="3",
)
async def test_codes_per_domain_is_the_backstop(world: World, sites: Callable[..., Site]) -> None:
    two = sites("jane.test").route(
        "/", html(homepage_html(world.issuer, emails=("jane@jane.test", "work@jane.test")))
    )
    await two.start()
    world.homepage = two
    for ip, index in (("192.0.2.1", 0), ("192.0.2.2", 0), ("192.0.2.3", 1)):
        assert (await ask_for_code(world, ip, index)).status == 200
    refused = await ask_for_code(world, "192.0.2.4", 1)
    assert refused.status == 429 and "for jane.test" in await refused.text()


@pytest.mark.settings(**PROXY, GONDULF_LIMIT_SIGNINS_PER_IP="2")
async def test_sign_ins_started_per_address(world: World) -> None:
    for _ in range(2):
        assert (await start(world, STRANGER)).status == 200
    hits = len(world.app.hits)
    refused = await start(world, STRANGER)
    assert refused.status == 429 and int(refused.headers["Retry-After"]) > 0
    assert "Too many sign-ins started" in await refused.text()
    assert len(world.app.hits) == hits  # refused before anything is fetched for it
    assert (await start(world, PERSON)).status == 200


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(world: World) -> None:
    # No trusted proxies: every request counts against the socket's own address.
    for ip in ("192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4", "192.0.2.5"):
        assert (await ask_for_code(world, ip)).status == 200
    assert (await ask_for_code(world, "192.0.2.6")).status == 429


@pytest.mark.settings(**PROXY, GONDULF_LIMIT_WRONG_CODES_PER_IP="2")
async def test_past_the_wrong_code_limit_one_wrong_code_ends_the_code(world: World) -> None:
    async def enter(page: str, code: str) -> ClientResponse:
        return await world.gondulf.post(
            action(page, "/authorize/code"), data=_form(page, code=code), headers=from_ip(STRANGER)
        )

    response = await ask_for_code(world, STRANGER)
    page = await response.text()
    wrong = f"{(int(world.last_code()) + 1) % 1_000_000:06d}"
    for _ in range(2):
        assert "That code is not right" in await (await enter(page, wrong)).text()
    response = await ask_for_code(world, STRANGER)
    page = await response.text()
    right = world.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    ended = await enter(page, wrong)
    assert "no longer works" in await ended.text()  # one try instead of three
    assert "Allow access?" not in await (await enter(page, right)).text()
    response = await ask_for_code(world, STRANGER)  # a right code still works
    page = await response.text()
    assert "Allow access?" in await (await enter(page, world.last_code())).text()


@pytest.mark.settings(**PROXY, GONDULF_LIMIT_FAILED_API_PER_IP="3")
async def test_failed_api_calls_per_address(world: World) -> None:
    query = await world.sign_in()
    token = (await (await world.redeem("/token", query["code"])).json())["access_token"]

    async def verify(value: str, ip: str) -> ClientResponse:
        return await world.gondulf.get(
            "/token", headers={"Authorization": f"Bearer {value}", **from_ip(ip)}
        )

    assert (await verify("guess-1", STRANGER)).status == 401
    assert (
        await world.gondulf.post("/revoke", data={"token": "guess-2"}, headers=from_ip(STRANGER))
    ).status == 200
    assert (
        await world.gondulf.post("/introspect", data={"token": token}, headers=from_ip(STRANGER))
    ).status == 401
    refused = await verify(token, STRANGER)  # refused before anything is checked
    body = await refused.json()
    assert refused.status == 429 and body["error"] == "too_many_requests"
    assert int(refused.headers["Retry-After"]) > 0
    assert (await verify(token, PERSON)).status == 200


def test_a_network_may_not_send_as_many_codes_as_an_address_receives() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {
                "GONDULF_DEBUG": "true",
                "GONDULF_SECRET_KEY": "s" * 40,
                "GONDULF_BASE_URL": "http://127.0.0.1:8000/",
                "GONDULF_LIMIT_CODES_PER_IP": "10",
            },
            env_file=None,
        )
    assert [p.variable for p in caught.value.problems] == ["GONDULF_LIMIT_CODES_PER_IP"]


@pytest.mark.settings(**PROXY)
async def test_a_client_cannot_pick_its_address_with_a_header_line_of_its_own(world: World) -> None:
    statuses = []
    for n in range(7):
        world.gondulf.session.cookie_jar.clear()
        headers = CIMultiDict(
            [("X-Forwarded-For", f"192.0.2.{n + 1}"), ("X-Forwarded-For", STRANGER)]
        )
        page = await (
            await world.gondulf.get("/authorize", params=world.authorize_params(), headers=headers)
        ).text()
        response = await world.gondulf.post(
            action(page, "/authorize/email"), data=_form(page, email="0"), headers=headers
        )
        statuses.append(response.status)
    assert statuses[5:] == [429, 429], statuses


@pytest.mark.settings(**PROXY, GONDULF_LIMIT_SIGNINS_PER_IP="3")
async def test_img_tags_on_a_hostile_page_do_not_use_up_the_visitors_sign_ins(world: World) -> None:
    image = {
        "Sec-Fetch-Dest": "image",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "no-cors",
        **from_ip(PERSON),
    }
    hits = len(world.app.hits)
    for _ in range(5):
        world.gondulf.session.cookie_jar.clear()
        response = await world.gondulf.get(
            "/authorize", params=world.authorize_params(), headers=image
        )
        assert response.status == 400 and "Set-Cookie" not in response.headers
    assert len(world.app.hits) == hits  # nothing fetched for them either
    assert (await start(world, PERSON)).status == 200  # the visitor signs in for real


@pytest.mark.settings(**PROXY, GONDULF_LIMIT_FAILED_API_PER_IP="3")
async def test_calls_presenting_no_credential_are_not_failed_guesses(world: World) -> None:
    query = await world.sign_in()
    token = (await (await world.redeem("/token", query["code"])).json())["access_token"]
    for _ in range(5):  # what <img src=".../userinfo"> on a hostile page sends
        assert (await world.gondulf.get("/userinfo", headers=from_ip(PERSON))).status == 401
    response = await world.gondulf.get(
        "/userinfo", headers={"Authorization": f"Bearer {token}", **from_ip(PERSON)}
    )
    assert response.status == 200


@pytest.mark.settings(**PROXY)
async def test_networks_of_one_ipv6_site_share_one_limit(world: World) -> None:
    for _ in range(5):
        assert (await ask_for_code(world, "2001:db8:77:1::5")).status == 200
    assert (await ask_for_code(world, "2001:db8:77:2::5")).status == 429  # same /48
    assert (await ask_for_code(world, PERSON)).status == 200


@pytest.mark.settings(**PROXY)
async def test_strangers_cannot_lock_a_known_browser_out_of_its_own_codes(
    world: World, sites: Callable[..., Site]
) -> None:
    """Codes for strangers' own domains, sent to the person's address from several networks,
    use up the address's hourly budget; a browser that signed in as the person before still
    gets its code."""
    page = await (await ask_for_code(world, PERSON)).text()
    response = await world.gondulf.post(
        action(page, "/authorize/code"),
        headers=from_ip(PERSON),
        data=_form(page, code=world.last_code()),
    )
    assert "Allow access?" in await response.text()
    known = world.gondulf.session.cookie_jar.filter_cookies(world.gondulf.make_url("/authorize"))
    assert "gondulf_known" in known
    for n, stranger in enumerate(("203.0.113.5", "203.0.113.77")):
        host = f"mallory{n}.test"
        world.dns.zone.add_txt(f"_gondulf.{host}", "gondulf-verify-domain")
        world.dns.zone.add_a(host)
        site = (
            await sites(host)
            .route("/", html(homepage_html(world.issuer, emails=("jane@jane.test",))))
            .start()
        )
        for _ in range(5 - n):  # with the person's own first code: all 10 of the address
            world.gondulf.session.cookie_jar.clear()
            world.params = world.authorize_params(me=site.url("/"))
            page = await (
                await world.gondulf.get(
                    "/authorize", params=world.params, headers=from_ip(stranger)
                )
            ).text()
            sent = await world.gondulf.post(
                action(page, "/authorize/email"),
                data=_form(page, email="0"),
                headers=from_ip(stranger),
            )
            assert sent.status == 200
    world.gondulf.session.cookie_jar.clear()
    assert (await ask_for_code(world, PERSON)).status == 429  # a new browser must wait
    world.gondulf.session.cookie_jar.update_cookies(known)
    world.params = world.authorize_params()
    page = await (
        await world.gondulf.get("/authorize", params=world.params, headers=from_ip(PERSON))
    ).text()
    response = await world.gondulf.post(
        action(page, "/authorize/email"), data=_form(page, email="0"), headers=from_ip(PERSON)
    )
    assert response.status == 200 and "Enter your code" in await response.text()


@pytest.mark.settings(**PROXY, GONDULF_LIMIT_SIGNINS_PER_IP="100")
async def test_one_network_holds_at_most_two_checks_of_the_web_at_once(
    world: World, sites: Callable[..., Site]
) -> None:
    """A stranger pointing Gondulf at ever more slow sites cannot hold its connections."""
    release = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text=homepage_html(world.issuer), content_type="text/html")

    hosts = [f"slow{n}.test" for n in range(6)]
    slow = sites("slow0.test").route("/", stuck)
    await slow.start()
    for host in hosts:
        world.dns.zone.add_txt(f"_gondulf.{host}", "gondulf-verify-domain")
        world.dns.zone.add_a(host)

    async def check(host: str) -> int:
        async with world.gondulf.session.get(  # a fresh browser each: no shared cookie
            world.gondulf.make_url("/authorize"),
            headers=from_ip(STRANGER),
            params=world.authorize_params(me=f"http://{host}:{slow.port}/"),
        ) as response:
            return response.status

    started = [asyncio.create_task(check(host)) for host in hosts]
    try:

        async def answered() -> list[asyncio.Task[int]]:
            while len(done := [t for t in started if t.done()]) < len(hosts) - 2:
                await asyncio.sleep(0.01)
            return done

        async def reached_the_slow_site() -> None:
            while len(slow.hits) < 2:
                await asyncio.sleep(0.01)

        refused = await asyncio.wait_for(answered(), 10)  # the others wait on the slow site
        await asyncio.wait_for(reached_the_slow_site(), 10)
        assert [task.result() for task in refused] == [429] * (len(hosts) - 2)
        assert len(slow.hits) == 2
        assert (await start(world, PERSON)).status == 200  # everyone else goes on
    finally:
        release.set()
        await asyncio.gather(*started)
