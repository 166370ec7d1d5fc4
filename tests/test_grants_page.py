"""The grants page end to end: sign in with the same proof, see apps, end their access."""

from __future__ import annotations

import re
from collections.abc import Callable

from aiohttp import ClientResponse
from support.signin import World, homepage_html
from support.web_server import Site, html


async def open_grants(world: World) -> ClientResponse:
    """Sign in to the grants page as the person of the world's homepage."""
    response = await world.gondulf.get("/grants", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/authorize/grants"
    response = await world.gondulf.get("/grants")
    page = await response.text()
    assert "Your website address" in page and "Sign in to manage your apps" in page
    assert "wants you to sign in" not in page
    response = await world.post("/authorize/website", page, me=world.me)
    page = await world.send_code(await response.text())
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert response.status == 303 and response.headers["Location"] == "/grants"
    assert "Secure" not in response.headers["Set-Cookie"]  # development mode
    return await world.gondulf.get("/grants")


GRANT = re.compile(r'href="/grants/end\?grant=([^"]+)"')


async def token_for_app(world: World) -> str:
    query = await world.sign_in()
    body = await (await world.redeem("/token", query["code"])).json()
    return str(body["access_token"])


async def active(world: World, token: str) -> bool:
    response = await world.gondulf.post(
        "/introspect", data={"token": token}, headers={"Authorization": f"Bearer {token}"}
    )
    return bool((await response.json())["active"])


async def test_grants_page_lists_apps_and_ends_access(world: World) -> None:
    token = await token_for_app(world)
    response = await open_grants(world)
    page = await response.text()
    assert response.status == 200 and "Your apps" in page
    host = f"app.test:{world.app.port}"
    assert f'<h2 class="ellipsis">{host}</h2>' in page and "calls itself “Quill”" in page
    assert "Publish new posts on your website" in page
    assert "last used" in page
    grant = GRANT.search(page)
    assert grant
    # "End access" asks first; nothing has ended yet.
    confirm = await (await world.gondulf.get(f"/grants/end?grant={grant.group(1)}")).text()
    assert f"End access for {host}?" in confirm and "Keep access" in confirm
    assert await active(world, token)
    response = await world.post("/grants/revoke", confirm, grant=grant.group(1))
    assert response.status == 303
    assert not await active(world, token)
    done = await (await world.gondulf.get(response.headers["Location"])).text()
    assert f"Access ended: <strong>{host}</strong> can no\nlonger act for you." in done
    assert "No app has access right now." in done
    # A link of someone else's making cannot claim an app's access ended.
    forged = await (await world.gondulf.get("/grants?ended=bank.test&signed=0")).text()
    assert "Access ended" not in forged


async def test_grants_sign_in_needs_the_emailed_code(world: World) -> None:
    response = await world.gondulf.get("/grants")
    page = await response.text()
    response = await world.post("/authorize/website", page, me=world.me)
    page = await world.send_code(await response.text())
    response = await world.post("/authorize/code", page, code="000000x")
    assert response.status == 400
    assert "Your apps" not in await (await world.gondulf.get("/grants")).text()


async def test_someone_elses_grant_cannot_be_ended(world: World) -> None:
    token = await token_for_app(world)
    response = await open_grants(world)
    response = await world.post("/grants/revoke", await response.text(), grant="other-family")
    assert response.status == 404
    assert await active(world, token)


async def test_grants_forms_check_csrf(world: World) -> None:
    token = await token_for_app(world)
    response = await open_grants(world)
    page = re.sub(r'name="csrf" value="[^"]+"', 'name="csrf" value="forged"', await response.text())
    grant = GRANT.search(page)
    assert grant
    response = await world.post("/grants/revoke", page, grant=grant.group(1))
    assert response.status == 403
    assert await active(world, token)


async def test_sign_out_ends_the_grants_session(world: World) -> None:
    response = await open_grants(world)
    response = await world.post("/grants/signout", await response.text())
    assert response.status == 303
    page = await (await world.gondulf.get("/grants")).text()
    assert "Your website address" in page


async def test_another_identity_on_the_same_host_never_sees_or_ends_my_grants(
    world: World, sites: Callable[..., Site]
) -> None:
    """https://jane.test/~bob/ and https://jane.test/ are two people on one host."""
    shared = sites("jane.test")
    shared.route("/", html(homepage_html(world.issuer)))
    shared.route("/~bob/", html(homepage_html(world.issuer, emails=("bob@jane.test",), name="Bob")))
    await shared.start()
    world.homepage = shared
    jane_token = await token_for_app(world)
    bob_me = shared.url("/~bob/")
    query = await world.sign_in(me=bob_me)
    bob_token = (await (await world.redeem("/token", query["code"])).json())["access_token"]

    world.gondulf.session.cookie_jar.clear()
    jane_page = await (await open_grants(world)).text()
    jane_grants = GRANT.findall(jane_page)
    assert len(jane_grants) == 1

    world.gondulf.session.cookie_jar.clear()
    response = await world.gondulf.get("/grants")
    response = await world.post("/authorize/website", await response.text(), me=bob_me)
    page = await world.send_code(await response.text())
    response = await world.post("/authorize/code", page, code=world.last_code())
    bob_page = await (await world.gondulf.get("/grants")).text()
    bob_grants = GRANT.findall(bob_page)
    assert len(bob_grants) == 1 and bob_grants != jane_grants

    response = await world.post("/grants/revoke", bob_page, grant=jane_grants[0])
    assert response.status == 404
    assert await active(world, jane_token) and await active(world, bob_token)
