"""Passkeys in a real sign-in: added after an emailed code, then used instead of one.

The browser's half is played by a software authenticator (tests/support/authenticator.py)
answering the very options the pages' script would hand to navigator.credentials; the
real-browser suite does the same with Chromium's virtual authenticator.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from aiohttp import ClientResponse, web
from support.authenticator import SoftwareAuthenticator
from support.signin import World, homepage_html, query_of
from support.web_server import Site

LOCALHOST = {"GONDULF_BASE_URL": "http://localhost:{port}/"}
OPTIONS = re.compile(r'data-options="([^"]+)"')


def authenticator(world: World) -> SoftwareAuthenticator:
    port = world.gondulf.make_url("/").port
    return SoftwareAuthenticator(f"http://localhost:{port}", "localhost")


async def options(world: World, page: str) -> tuple[str, str]:
    """What the page's script fetches: the ceremony's options and its challenge's ID."""
    found = OPTIONS.search(page)
    assert found, page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    response = await world.gondulf.post(found.group(1), data={"csrf": csrf.group(1)})
    body = await response.json()
    assert response.status == 200, body
    return json.dumps(body["options"]), str(body["challenge"])


async def consent_after_code(world: World) -> str:
    page = await world.code_page()
    response = await world.post("/authorize/code", page, code=world.last_code())
    page = await response.text()
    assert "Allow access?" in page
    return page


async def add_passkey(world: World, key: SoftwareAuthenticator) -> ClientResponse:
    page = await consent_after_code(world)
    assert "Sign in faster next time with a passkey" in page
    creation, challenge = await options(world, page)
    answer = key.create(creation)
    return await world.post("/authorize/new-passkey", page, challenge=challenge, credential=answer)


@pytest.mark.settings(**LOCALHOST)
async def test_a_passkey_added_after_a_code_signs_in_the_next_time_without_email(
    world: World,
) -> None:
    key = authenticator(world)
    response = await add_passkey(world, key)
    page = await response.text()
    assert response.status == 200 and "saved: next time, sign in with it." in page
    assert "Allow access?" in page  # still the consent page of this sign-in
    response = await world.post("/authorize/consent", page, action="approve", scope=["profile"])
    assert response.status == 302

    sent = len(world.smtp.mailbox.messages)
    page = await (await world.get_authorize()).text()
    assert "Use your passkey" in page and "Or email me a code instead" in page
    assert "passkey.js" in page and "hidden" in page  # shown only where WebAuthn works
    request, challenge = await options(world, page)
    response = await world.post(
        "/authorize/passkey", page, challenge=challenge, credential=key.get(request)
    )
    page = await response.text()
    assert "Allow access?" in page and "Sign in faster" not in page
    response = await world.post("/authorize/consent", page, action="approve", scope=["email"])
    query = query_of(response.headers["Location"])
    body = await (await world.redeem("/authorize", query["code"])).json()
    assert body["me"] == world.me
    assert "email" not in body.get("profile", {})  # no address was proven this time
    assert len(world.smtp.mailbox.messages) == sent  # no email


@pytest.mark.settings(**LOCALHOST)
async def test_a_passkey_answer_for_another_origin_is_refused_and_email_still_works(
    world: World,
) -> None:
    key = authenticator(world)
    await add_passkey(world, key)
    world.gondulf.session.cookie_jar.clear()
    page = await (await world.get_authorize()).text()
    request, challenge = await options(world, page)
    forged = key.get(request, origin="http://evil.test")
    response = await world.post("/authorize/passkey", page, challenge=challenge, credential=forged)
    text = await response.text()
    assert response.status == 400 and "Your passkey did not work" in text
    assert "Allow access?" not in text
    assert "Send my code to" in text  # the emailed code, as ever
    # The challenge was used up by the refused answer.
    again = await world.post(
        "/authorize/passkey", page, challenge=challenge, credential=key.get(request)
    )
    assert again.status == 400


@pytest.mark.settings(**LOCALHOST)
async def test_no_passkey_is_offered_before_one_was_added(world: World) -> None:
    page = await (await world.get_authorize()).text()
    assert "Use your passkey" not in page and "passkey.js" not in page


@pytest.mark.settings(**LOCALHOST, GONDULF_PASSKEYS="false")
async def test_passkeys_off_offers_none(world: World) -> None:
    page = await consent_after_code(world)
    assert "passkey" not in page.lower()


async def test_no_passkey_on_an_ip_address_issuer(world: World) -> None:
    page = await consent_after_code(world)
    assert "Sign in faster next time with a passkey" not in page


@pytest.mark.settings(**LOCALHOST)
async def test_a_passkey_cannot_be_added_without_an_emailed_code_in_this_sign_in(
    world: World,
) -> None:
    page = await (await world.get_authorize()).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    response = await world.gondulf.post(
        world.step_url + "new-passkey-options", data={"csrf": csrf.group(1)}
    )
    assert response.status == 403
    assert "emailed code first" in (await response.json())["error"]


@pytest.mark.settings(**LOCALHOST, GONDULF_LIMIT_WRONG_CODES_PER_IP="2")
async def test_wrong_passkey_answers_count_like_wrong_codes(world: World) -> None:
    key = authenticator(world)
    await add_passkey(world, key)
    for _ in range(2):
        world.gondulf.session.cookie_jar.clear()
        page = await (await world.get_authorize()).text()
        request, challenge = await options(world, page)
        bad = key.get(request, user_verified=False)
        await world.post("/authorize/passkey", page, challenge=challenge, credential=bad)
    world.gondulf.session.cookie_jar.clear()
    page = await (await world.get_authorize()).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    refused = await world.gondulf.post(
        world.step_url + "passkey-options", data={"csrf": csrf.group(1)}
    )
    assert refused.status == 429
    assert "email yourself a code" in (await refused.json())["error"]


@pytest.mark.settings(**LOCALHOST)
async def test_the_grants_page_adds_renames_and_removes_passkeys(world: World) -> None:
    key = authenticator(world)
    response = await world.gondulf.get("/grants")
    response = await world.post("/authorize/website", await response.text(), me=world.me)
    page = await world.send_code(await response.text())
    response = await world.post("/authorize/code", page, code=world.last_code())
    page = await (await world.gondulf.get("/grants")).text()
    assert "No passkey yet" in page and "Add a passkey" in page
    creation, challenge = await options(world, page)
    response = await world.post(
        "/grants/passkeys/add", page, challenge=challenge, credential=key.create(creation)
    )
    page = await (await world.gondulf.get(response.headers["Location"])).text()
    assert "saved." in page and "last used\n      never" in page
    passkey = re.search(r'name="passkey" value="([^"]+)"', page)
    assert passkey
    response = await world.post(
        "/grants/passkeys/rename", page, passkey=passkey.group(1), name="Phone"
    )
    page = await (await world.gondulf.get(response.headers["Location"])).text()
    assert "Passkey renamed “Phone”." in page and '<h3 class="ellipsis">Phone</h3>' in page

    # A sign-in now offers it; once removed, the emailed code is the way again.
    world.gondulf.session.cookie_jar.clear()
    assert "Use your passkey" in await (await world.get_authorize()).text()
    grants = world.gondulf.session.cookie_jar  # signed out of the grants page by clear()
    assert not any(cookie.key == "gondulf_grants" for cookie in grants)
    response = await world.gondulf.get("/grants")
    response = await world.post("/authorize/website", await response.text(), me=world.me)
    page = await world.send_code(await response.text())
    await world.post("/authorize/code", page, code=world.last_code())
    page = await (await world.gondulf.get("/grants")).text()
    response = await world.post("/grants/passkeys/remove", page, passkey=passkey.group(1))
    page = await (await world.gondulf.get(response.headers["Location"])).text()
    assert "Passkey “Phone” removed" in page and "No passkey yet" in page
    assert "Use your passkey" not in await (await world.get_authorize()).text()


@pytest.mark.settings(**LOCALHOST)
async def test_a_former_owners_passkey_stops_when_their_address_leaves_the_homepage(
    world: World, sites: Callable[..., Site]
) -> None:
    """The domain changes hands: the new owner's codes must not keep the old owner's
    passkey alive (it is bound to the address its code went to)."""
    listed = ["alice@jane.test"]

    async def homepage(request: web.Request) -> web.Response:
        return web.Response(
            text=homepage_html(world.issuer, emails=tuple(listed)), content_type="text/html"
        )

    world.homepage = await sites("jane.test").route("/", homepage).start()
    alice = authenticator(world)
    await add_passkey(world, alice)

    listed[:] = ["bob@jane.test"]  # Bob owns jane.test now, and signs in with a code
    world.gondulf.session.cookie_jar.clear()
    await consent_after_code(world)
    assert world.smtp.mailbox.messages[-1][0] == ["bob@jane.test"]

    world.gondulf.session.cookie_jar.clear()  # Alice, with her old passkey
    page = await (await world.get_authorize()).text()
    assert "Use your passkey" not in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    forced = await world.gondulf.post(
        world.step_url + "passkey-options", data={"csrf": csrf.group(1)}
    )
    assert forced.status == 400 and "no passkey" in (await forced.json())["error"]


@pytest.mark.settings(**LOCALHOST)
async def test_sending_a_code_after_a_passkey_unproves_the_sign_in(world: World) -> None:
    """A code asked for is not a code entered: no address reaches the app, and no new
    passkey can be added, until it is entered."""
    key = authenticator(world)
    await add_passkey(world, key)
    world.gondulf.session.cookie_jar.clear()
    page = await (await world.get_authorize()).text()
    request, challenge = await options(world, page)
    response = await world.post(
        "/authorize/passkey", page, challenge=challenge, credential=key.get(request)
    )
    consent = await response.text()
    assert "Allow access?" in consent
    response = await world.post("/authorize/email", page, email="0")
    text = await response.text()
    assert "Enter your code" in text and "Allow access?" not in text
    refused = await world.post("/authorize/consent", consent, action="approve", scope=["email"])
    assert refused.status == 400 and "Enter your code first" in await refused.text()


@pytest.mark.settings(**LOCALHOST, GONDULF_LIMIT_SIGNINS_PER_IP="4")
async def test_asking_for_passkey_options_counts_as_a_sign_in(world: World) -> None:
    """Nobody can pile up challenges (or list someone's passkeys) without limit."""
    key = authenticator(world)
    await add_passkey(world, key)  # sign-in 1
    world.gondulf.session.cookie_jar.clear()
    page = await (await world.get_authorize()).text()  # sign-in 2
    await options(world, page)  # 3
    await options(world, page)  # 4
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    refused = await world.gondulf.post(
        world.step_url + "passkey-options", data={"csrf": csrf.group(1)}
    )
    assert refused.status == 429
    assert "Too many sign-ins started" in (await refused.json())["error"]
