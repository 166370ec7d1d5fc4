"""Whole sign-ins over real HTTP with real DNS, SMTP, homepage and client servers.

Each test follows a line of ../shared/indieauth-checklist.md or a bug the
original shipped.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from support.signin import World, homepage_html, json_client, query_of
from support.smtp_server import body_of
from support.web_server import Site, html, redirect

from gondulf.services.signin.email_code import MAX_CODE_ATTEMPTS

# -- discovery --------------------------------------------------------------------------------


async def test_metadata_document_is_discoverable_from_the_homepage(world: World) -> None:
    homepage = await world.gondulf.session.get(f"http://127.0.0.1:{world.homepage.port}/")
    found = re.search(r'rel="indieauth-metadata" href="([^"]+)"', await homepage.text())
    assert found
    response = await world.gondulf.session.get(found.group(1))
    document = await response.json()
    assert document["issuer"] == world.issuer
    assert document["authorization_endpoint"] == f"{world.issuer}authorize"
    assert document["token_endpoint"] == f"{world.issuer}token"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "max-age" in response.headers["Cache-Control"]
    assert 'rel="indieauth-metadata"' in response.headers["Link"]


async def test_every_html_page_carries_the_metadata_link(world: World) -> None:
    link = f'<{world.issuer}.well-known/oauth-authorization-server>; rel="indieauth-metadata"'
    website = await world.get_authorize(me=None)
    code = await world.post("/authorize/website", await website.text(), me=world.me)
    problem = await world.get_authorize(client_id="not a url")
    for response in (website, code, problem, await world.gondulf.get("/")):
        assert response.content_type == "text/html"
        assert response.headers["Link"] == link


# -- modern and older clients -------------------------------------------------------------------


async def test_modern_client_signs_in_and_gets_a_token(world: World) -> None:
    query = await world.sign_in()
    assert query["state"] == "st-123"
    assert query["iss"] == world.issuer  # RFC 9207: the client checks iss
    response = await world.redeem("/token", query["code"])
    body = await response.json()
    assert response.status == 200, body
    assert response.headers["Cache-Control"] == "no-store"
    assert body["me"] == world.me and body["token_type"] == "Bearer"
    assert body["scope"] == "profile create" and body["expires_in"] == 3600
    assert len(body["access_token"]) >= 43  # 256 bits, base64url
    assert body["profile"] == {
        "name": "Jane Doe",
        "url": world.me,
        "photo": world.homepage.url("/photo.jpg"),
    }
    verify = await world.gondulf.get(
        "/token", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert await verify.json() == {
        "me": world.me,
        "client_id": world.client_id,
        "scope": "profile create",
    }


async def test_database_holds_no_secret(world: World, tmp_path: Path) -> None:
    page = await world.code_page()
    emailed = world.last_code()
    response = await world.post("/authorize/code", page, code=emailed)
    cookie = response.cookies.get("gondulf_signin") or next(
        c for c in world.gondulf.session.cookie_jar if c.key == "gondulf_signin"
    )
    response = await world.post(
        "/authorize/consent", await response.text(), action="approve", scope=["profile", "create"]
    )
    code = query_of(response.headers["Location"])["code"]
    token = (await (await world.redeem("/token", code)).json())["access_token"]
    with sqlite3.connect(tmp_path / "gondulf.db") as connection:
        dump = "\n".join(connection.iterdump())
    for secret in (code, token, cookie.value):
        assert secret not in dump
    assert f"'{emailed}'" not in dump


async def test_older_client_with_h_app_and_published_redirect_uri(
    world: World, sites: Callable[..., Site]
) -> None:
    old = sites("app.test")
    callback = f"http://other.test:{world.app.port}/auth/done"
    old.route(
        "/",
        html(
            '<div class="h-app"><img class="u-logo" src="/logo.png"><a class="p-name u-url" '
            f'href="/">Old Reader</a></div><link rel="redirect_uri" href="{callback}">'
        ),
    )
    await old.start()
    client_id = old.url("/")
    # it finds the authorization endpoint from the legacy rel link on the homepage
    homepage = await world.gondulf.session.get(f"http://127.0.0.1:{world.homepage.port}/")
    found = re.search(r'rel="authorization_endpoint" href="([^"]+)"', await homepage.text())
    assert found and found.group(1) == f"{world.issuer}authorize"
    # no response_type (a profile-only sign-in), no scope, no me
    response = await world.get_authorize(
        client_id=client_id, redirect_uri=callback, response_type=None, scope=None, me=None
    )
    page = await response.text()
    assert "Old Reader" in page
    response = await world.post("/authorize/website", page, me=world.me)
    page = await world.send_code(await response.text())
    response = await world.post("/authorize/code", page, code=world.last_code())
    response = await world.post("/authorize/consent", await response.text(), action="approve")
    query = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(callback)
    # it redeems at the authorization endpoint, without grant_type
    response = await world.redeem(
        "/authorize", query["code"], grant_type=None, client_id=client_id, redirect_uri=callback
    )
    assert await response.json() == {"me": world.me}


@pytest.mark.settings(GONDULF_ALLOW_NO_PKCE="true")
async def test_client_without_pkce_only_when_the_operator_allows_it(world: World) -> None:
    query = await world.sign_in(code_challenge=None, code_challenge_method=None)
    with_verifier = await world.redeem("/token", query["code"])
    assert (await with_verifier.json())["error"] == "invalid_grant"
    query = await world.sign_in(code_challenge=None, code_challenge_method=None)
    response = await world.redeem("/token", query["code"], code_verifier=None)
    assert response.status == 200


async def test_me_is_optional_and_the_person_is_asked(world: World) -> None:
    response = await world.get_authorize(me=None)
    page = await response.text()
    assert "Your website address" in page
    response = await world.post("/authorize/website", page, me=world.me)
    assert "Send my code to j…e@jane.test" in await response.text()
    assert world.smtp.mailbox.messages == []  # only the person's own click sends one


async def test_bare_domain_typed_by_a_person_is_fetched_over_https(world: World) -> None:
    response = await world.get_authorize(me=None)
    response = await world.post(
        "/authorize/website", await response.text(), me=world.me.removeprefix("http://").rstrip("/")
    )
    # in development mode a bare domain gets https, which this test homepage does not serve
    assert response.status == 502
    assert "could not be loaded" in await response.text()


async def test_invalid_website_is_asked_again(world: World) -> None:
    response = await world.get_authorize(me=None)
    response = await world.post(
        "/authorize/website", await response.text(), me="https://192.0.2.1/"
    )
    page = await response.text()
    assert response.status == 400
    assert "domain name, not an IP address" in page and 'aria-invalid="true"' in page


# -- client_id and redirect_uri errors never redirect ---------------------------------------------


@pytest.mark.parametrize("client_id", ["not a url", "https://192.0.2.1/", "ftp://app.test/"])
async def test_invalid_client_id_is_a_page_not_a_redirect(world: World, client_id: str) -> None:
    response = await world.get_authorize(client_id=client_id)
    assert response.status == 400 and "Location" not in response.headers
    assert "This sign-in link is not valid" in await response.text()


async def test_redirect_uri_on_other_host_is_refused_unless_published(world: World) -> None:
    response = await world.get_authorize(redirect_uri="http://evil.test/steal")
    assert response.status == 400 and "Location" not in response.headers
    assert "is not one that" in await response.text()


async def test_redirect_uri_on_other_host_is_accepted_when_published(
    world: World, sites: Callable[..., Site]
) -> None:
    client = sites("app.test")
    callback = "http://other.test/cb"
    json_client(client, redirect_uris=[callback])
    await client.start()
    query = await world.sign_in(client_id=client.url("/"), redirect_uri=callback)
    assert query["state"] == "st-123"


async def test_unreachable_client_is_fatal_only_when_needed_for_redirect_uri(
    world: World, sites: Callable[..., Site]
) -> None:
    dead = sites("app.test").route("/", html("gone", status=500))
    await dead.start()
    same_host = await world.get_authorize(client_id=dead.url("/"), redirect_uri=dead.url("/cb"))
    assert same_host.status == 200
    page = await same_host.text()
    assert f"<strong>app.test:{dead.port}</strong>" in page  # the address, as no name is known
    other_host = await world.get_authorize(
        client_id=dead.url("/"), redirect_uri="http://other.test/cb"
    )
    assert other_host.status == 400
    assert "could not be loaded" in await other_host.text()


async def test_client_information_is_cached_per_cache_control(
    world: World, sites: Callable[..., Site]
) -> None:
    cached = sites("app.test")
    json_client(cached, cache="public, max-age=600")
    await cached.start()
    for _ in range(2):
        await world.get_authorize(client_id=cached.url("/"), redirect_uri=cached.url("/cb"))
    assert cached.hits == ["/"]
    uncached = sites("app.test")
    json_client(uncached, cache="no-store")
    await uncached.start()
    for _ in range(2):
        await world.get_authorize(client_id=uncached.url("/"), redirect_uri=uncached.url("/cb"))
    assert uncached.hits == ["/", "/"]


async def test_loopback_client_id_is_never_fetched(world: World) -> None:
    response = await world.get_authorize(
        client_id=f"http://127.0.0.1:{world.app.port}/",
        redirect_uri=f"http://127.0.0.1:{world.app.port}/cb",
    )
    assert response.status == 200
    assert world.app.hits == []


# -- errors after redirect_uri is verified go back to the client --------------------------------


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "profile \x7f"}, "invalid_scope"),
    ],
)
async def test_request_errors_redirect_with_state_and_iss(
    world: World, changes: dict[str, str | None], error: str
) -> None:
    response = await world.get_authorize(**changes)
    assert response.status == 302
    query = query_of(response.headers["Location"])
    assert response.headers["Location"].startswith(world.redirect_uri)
    assert query["error"] == error and query["error_description"]
    assert query["state"] == "st-123" and query["iss"] == world.issuer


async def test_missing_state_is_an_error_redirect(world: World) -> None:
    response = await world.get_authorize(state=None)
    query = query_of(response.headers["Location"])
    assert query["error"] == "invalid_request" and "state" not in query


async def test_deny_sends_access_denied(world: World) -> None:
    response = await world.post("/authorize/code", await world.code_page(), code=world.last_code())
    response = await world.post("/authorize/consent", await response.text(), action="deny")
    query = query_of(response.headers["Location"])
    assert query["error"] == "access_denied"
    assert query["state"] == "st-123" and query["iss"] == world.issuer


# -- the domain and the person are proven ------------------------------------------------------


async def test_domain_without_txt_record_cannot_sign_in(world: World) -> None:
    # The original's authorization endpoint skipped the domain check entirely.
    world.dns.zone.records.pop("_gondulf.jane.test")
    response = await world.get_authorize()
    page = await response.text()
    assert response.status == 400
    assert "_gondulf.jane.test.  IN  TXT  &#34;gondulf-verify-domain&#34;" in page
    assert world.smtp.mailbox.messages == []


async def test_homepage_without_rel_me_email_shows_the_tag_to_add(
    world: World, sites: Callable[..., Site]
) -> None:
    bare = sites("jane.test").route("/", html("<p>Jane</p>"))
    await bare.start()
    response = await world.get_authorize(me=bare.url("/"))
    page = await response.text()
    assert "Your homepage links no email address" in page
    assert "&lt;link rel=&#34;me&#34; href=&#34;mailto:you@jane.test&#34;&gt;" in page


async def test_unreachable_homepage_is_explained(world: World) -> None:
    url = world.me
    await world.homepage.stop()
    response = await world.get_authorize(me=url)
    assert response.status == 502
    assert "Your homepage could not be loaded" in await response.text()


async def test_email_failure_is_explained(world: World) -> None:
    world.smtp.mailbox.refuse_all = True
    response = await world.get_authorize()
    response = await world.post("/authorize/email", await response.text(), email="0")
    page = await response.text()
    assert response.status == 502
    assert "The code could not be sent" in page and '/email"' in page  # try again


async def test_code_is_emailed_to_the_rel_me_address(world: World) -> None:
    await world.code_page()
    ((recipients, message),) = world.smtp.mailbox.messages
    assert recipients == ["jane@jane.test"]
    assert re.fullmatch(r"\d{6}", world.last_code())
    assert world.me in body_of(message, "plain")


async def test_several_rel_me_addresses_are_picked_never_typed(
    world: World, sites: Callable[..., Site]
) -> None:
    two = sites("jane.test").route(
        "/", html(homepage_html(world.issuer, emails=("jane@jane.test", "work@jane.test")))
    )
    await two.start()
    response = await world.get_authorize(me=two.url("/"))
    page = await response.text()
    assert "Where should the code go?" in page and world.smtp.mailbox.messages == []
    typed = await world.post("/authorize/email", page, email="evil@evil.test")
    assert typed.status == 400 and world.smtp.mailbox.messages == []
    response = await world.post("/authorize/email", page, email="1")
    assert "Enter your code" in await response.text()
    assert world.smtp.mailbox.messages[-1][0] == ["work@jane.test"]


@pytest.mark.parametrize(
    ("status", "identity"), [(301, "/jane/"), (308, "/jane/"), (302, "/"), (307, "/")]
)
async def test_permanent_redirect_gives_the_final_url_and_temporary_keeps_the_typed_one(
    world: World, sites: Callable[..., Site], status: int, identity: str
) -> None:
    # IndieAuth §3.3: a permanent redirect's target becomes the profile URL; a temporary
    # one keeps the URL as it was and only reads the redirected-to page.
    moving = sites("jane.test")
    moving.route("/", redirect("/jane/", status))
    moving.route("/jane/", html(homepage_html(world.issuer)))
    await moving.start()
    query = await world.sign_in(me=moving.url("/"))
    body = await (await world.redeem("/token", query["code"])).json()
    assert body["me"] == moving.url(identity)


async def test_every_sign_in_needs_a_new_code(world: World) -> None:
    # The original cached a right code as "domain verified" and skipped it next time.
    await world.sign_in()
    response = await world.get_authorize()
    page = await response.text()
    assert "Send my code to" in page and "Allow access?" not in page
    await world.send_code(page)
    assert len(world.smtp.mailbox.messages) == 2


async def test_three_wrong_codes_end_the_attempt(world: World) -> None:
    page = await world.code_page()
    right = world.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(MAX_CODE_ATTEMPTS):
        response = await world.post("/authorize/code", page, code=wrong)
        assert response.status == 400
    text = await response.text()
    assert "Wrong codes were entered" in text
    response = await world.post("/authorize/code", page, code=right)
    assert "Allow access?" not in await response.text()


async def test_wrong_code_says_how_many_tries_are_left(world: World) -> None:
    page = await world.code_page()
    response = await world.post("/authorize/code", page, code="not-it")
    assert "2 tries left" in await response.text()
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert "Allow access?" in await response.text()


async def test_at_most_three_codes_per_sign_in_and_the_last_keeps_working(world: World) -> None:
    page = await world.code_page()
    for _ in range(2):
        response = await world.post("/authorize/resend", page)
        assert response.status == 200
    response = await world.post("/authorize/resend", page)
    text = await response.text()
    assert response.status == 429
    assert "3 codes were already sent for this sign-in" in text
    assert '/code"' in text  # a limit never blocks a valid code
    assert len(world.smtp.mailbox.messages) == 3
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert "Allow access?" in await response.text()


async def test_resent_code_replaces_the_old_one(world: World) -> None:
    page = await world.code_page()
    old = world.last_code()
    await world.post("/authorize/resend", page)
    new = world.last_code()
    if new != old:  # equal only once in a million runs
        response = await world.post("/authorize/code", page, code=old)
        assert "Allow access?" not in await response.text()
    response = await world.post("/authorize/code", page, code=new)
    assert "Allow access?" in await response.text()


# -- CSRF and sessions -------------------------------------------------------------------------


async def test_form_with_wrong_csrf_token_is_refused(world: World) -> None:
    page = re.sub(
        r'name="csrf" value="[^"]+"', 'name="csrf" value="forged"', await world.code_page()
    )
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert response.status == 403
    assert "This form has expired" in await response.text()


async def test_form_without_session_cookie_is_refused(world: World) -> None:
    page = await world.code_page()
    world.gondulf.session.cookie_jar.clear()
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert response.status == 400
    assert "This sign-in has expired" in await response.text()


async def test_session_cookie_is_httponly_and_samesite(world: World) -> None:
    response = await world.gondulf.get(
        "/authorize", params=world.authorize_params(), allow_redirects=False
    )
    assert response.status == 303
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert f"Path={response.headers['Location']}" in cookie  # only this sign-in's pages


async def test_consent_needs_a_confirmed_code(world: World) -> None:
    response = await world.get_authorize()
    response = await world.post("/authorize/consent", await response.text(), action="approve")
    assert response.status == 400 and "Location" not in response.headers


# -- consent -----------------------------------------------------------------------------------


async def test_consent_shows_the_app_and_each_scope_in_plain_words(world: World) -> None:
    response = await world.post("/authorize/code", await world.code_page(), code=world.last_code())
    page = await response.text()
    assert f"<strong>app.test:{world.app.port}</strong>" in page  # the verified address leads
    assert "calls itself “Quill”" in page  # the name is the app's own claim
    assert f"app.test:{world.app.port}" in page  # the redirect host
    assert "See your name, photo and website address" in page
    assert "Publish new posts on your website" in page
    assert page.count('type="checkbox" name="scope"') == 2


async def test_unticked_scopes_are_not_granted(world: World) -> None:
    query = await world.sign_in(scopes=["create"])
    body = await (await world.redeem("/token", query["code"])).json()
    assert body["scope"] == "create" and "profile" not in body


async def test_hostile_and_unicode_client_names_are_escaped(
    world: World, sites: Callable[..., Site]
) -> None:
    client = sites("app.test")
    json_client(client, name='Ünïcødé 🦊 <script>alert("x")</script>')
    await client.start()
    page = await world.code_page(client_id=client.url("/"), redirect_uri=client.url("/cb"))
    response = await world.post("/authorize/code", page, code=world.last_code())
    page = await response.text()
    assert "Ünïcødé 🦊" in page
    assert "<script>" not in page and "&lt;script&gt;" in page


async def test_app_url_on_other_host_is_warned_about(
    world: World, sites: Callable[..., Site]
) -> None:
    client = sites("app.test").route(
        "/",
        html(
            '<div class="h-app"><a class="p-name u-url" href="https://bank.test/">'
            "Your Bank</a></div>"
        ),
    )
    await client.start()
    response = await world.get_authorize(client_id=client.url("/"), redirect_uri=client.url("/cb"))
    page = await response.text()
    assert "Your Bank" in page and "another host" in page and "https://bank.test/" in page


async def test_concurrent_redemptions_exactly_one_wins(world: World) -> None:
    query = await world.sign_in()
    responses = await asyncio.gather(*(world.redeem("/token", query["code"]) for _ in range(5)))
    assert sorted(r.status for r in responses) == [200, 400, 400, 400, 400]
