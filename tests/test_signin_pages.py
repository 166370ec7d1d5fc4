"""The sign-in pages as a person meets them: no dead ends, no lock-out, who is asking.

Every form answers with a redirect to its sign-in's page (so reload, a restored tab and
Back show the step again), sign-ins in two tabs keep apart, every page can cancel back to
the app, and a problem says what happened in plain words with advice that fits it.
"""

from __future__ import annotations

import html
import re
import socket
from collections.abc import Callable

import pytest
from support.signin import World, homepage_html, json_client, query_of
from support.smtp_server import body_of
from support.web_server import Site
from support.web_server import html as page_of

from gondulf.indieauth.scopes import grouped


def handle_of(url: str) -> str:
    match = re.fullmatch(r"/authorize/s/([0-9a-f]+)/", url)
    assert match, url
    return match.group(1)


# -- no dead ends ---------------------------------------------------------------------------


async def test_every_form_answers_with_a_redirect_to_the_sign_ins_page(world: World) -> None:
    response = await world.gondulf.get(
        "/authorize", params=world.authorize_params(), allow_redirects=False
    )
    assert response.status == 303
    step = response.headers["Location"]
    handle_of(step)
    page = await (await world.gondulf.get(step)).text()
    for path, fields in (("/authorize/email", {"email": "0"}), ("/authorize/code", {"code": "1"})):
        answer = await world.post_form(path, page, **fields)
        assert answer.status == 303 and answer.headers["Location"] == step
        page = await (await world.gondulf.get(step)).text()


async def test_reloading_the_wrong_code_page_spends_no_try(world: World) -> None:
    page = await world.code_page()
    right = world.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = await world.post("/authorize/code", page, code=wrong)
    shown = await response.text()
    assert response.status == 400 and "That code is not right" in shown
    assert "2 tries left" in shown
    for _ in range(3):  # reloads: the same page, nothing sent again
        again = await world.gondulf.get(world.step_url)
        assert again.status == 400 and "2 tries left" in await again.text()
    response = await world.post("/authorize/code", page, code=right)
    assert "Allow access?" in await response.text()


@pytest.mark.parametrize("leaf", ["email", "code", "resend", "consent", "cancel"])
async def test_a_forms_address_opened_as_a_page_shows_the_current_step(
    world: World, leaf: str
) -> None:
    await world.code_page()
    response = await world.gondulf.get(world.step_url + leaf, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == world.step_url
    followed = await world.gondulf.get(world.step_url + leaf)
    assert followed.status == 200 and "Enter your code" in await followed.text()


async def test_two_sign_ins_in_one_browser_both_finish(
    world: World, sites: Callable[..., Site]
) -> None:
    other = sites("other-app.test")
    json_client(other, name="Other")
    await other.start()
    first_page = await world.code_page()
    first_code, first_step, first_params = world.last_code(), world.step_url, world.params
    verifier = world.verifier
    second_page = await world.code_page(client_id=other.url("/"), redirect_uri=other.url("/cb"))
    assert world.step_url != first_step
    second_code = world.last_code()

    # The first tab goes on, after the second started: its own sign-in, its own app.
    world.step_url, world.params, world.verifier = first_step, first_params, verifier
    response = await world.post("/authorize/code", first_page, code=first_code)
    consent = await response.text()
    assert "Allow access?" in consent and f"app.test:{world.app.port}" in consent
    response = await world.post("/authorize/consent", consent, action="approve", scope=[])
    assert response.status == 302
    assert response.headers["Location"].startswith(world.redirect_uri)
    first = query_of(response.headers["Location"])
    assert (await world.redeem("/authorize", first["code"])).status == 200

    response = await world.post("/authorize/code", second_page, code=second_code)
    consent = await response.text()
    assert "Allow access?" in consent and f"other-app.test:{other.port}" in consent
    response = await world.post("/authorize/consent", consent, action="approve", scope=[])
    assert response.headers["Location"].startswith(other.url("/cb"))


async def test_a_sign_ins_page_needs_its_own_cookie(world: World) -> None:
    await world.code_page()
    step = world.step_url
    world.gondulf.session.cookie_jar.clear()
    response = await world.gondulf.get(step)
    assert response.status == 400 and "This sign-in has expired" in await response.text()


# -- cancel -----------------------------------------------------------------------------------


@pytest.mark.parametrize("at", ["website", "send", "code", "consent"])
async def test_cancel_from_every_page_returns_access_denied_to_the_app(
    world: World, at: str
) -> None:
    if at == "website":
        page = await (await world.get_authorize(me=None)).text()
    elif at == "send":
        page = await (await world.get_authorize()).text()
    else:
        page = await world.code_page()
        if at == "consent":
            response = await world.post("/authorize/code", page, code=world.last_code())
            page = await response.text()
    if at == "consent":
        assert "Cancel (return to the app)" in page
        response = await world.post("/authorize/consent", page, action="deny")
    else:
        assert f"Cancel and return to app.test:{world.app.port}" in page
        response = await world.post("/authorize/cancel", page)
    assert response.status == 302
    location = response.headers["Location"]
    assert location.startswith(world.redirect_uri)
    query = query_of(location)
    assert query["error"] == "access_denied"
    assert query["state"] == "st-123" and query["iss"] == world.issuer
    gone = await world.gondulf.get(world.step_url)
    assert "This sign-in has expired" in await gone.text()


async def test_problem_page_keeps_the_app_fills_in_the_retry_and_offers_cancel(
    world: World, sites: Callable[..., Site]
) -> None:
    world.dns.zone.add_a("nodns.test")
    site = await sites("nodns.test").route("/", page_of(homepage_html(world.issuer))).start()
    response = await world.get_authorize(me=site.url("/"))
    page = await response.text()
    assert response.status == 400
    assert "Your domain is not set up for this server" in page
    assert f"<strong>app.test:{world.app.port}</strong>" in page  # the app's box
    assert f'value="{site.url("/")}"' in page  # the retry, filled in
    assert "Check again" in page and "Cancel and return to" in page
    assert '_gondulf.nodns.test.  IN  TXT  "gondulf-verify-domain"' in html.unescape(page)


# -- advice that fits the failure -------------------------------------------------------------


async def test_a_homepage_answering_500_is_told_as_an_error_not_as_https(
    world: World, sites: Callable[..., Site]
) -> None:
    broken = await sites("jane.test").route("/", page_of("oops", status=500)).start()
    response = await world.get_authorize(me=broken.url("/"))
    page = await response.text()
    assert response.status == 502
    assert "answered with an error (HTTP 500)" in page
    assert "https" not in page.split('class="problem"')[1].split("</div>")[0]
    assert "<details><summary>Technical details</summary>" in page


async def test_a_homepage_nobody_answers_is_told_plainly_with_the_detail_folded(
    world: World,
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    response = await world.get_authorize(me=f"http://jane.test:{port}/")
    page = await response.text()
    assert response.status == 502
    problem = page.split('class="problem"')[1].split("</div>")[0]
    plain, details = problem.split("<details>")
    assert "Nothing answered at" in plain and "online" in plain
    assert "Errno" not in plain and "Connect call failed" not in plain
    assert "cannot connect" in details


# -- limits without lock-out ------------------------------------------------------------------


async def test_the_code_page_counts_down_the_codes_and_keeps_the_last_one_working(
    world: World,
) -> None:
    page = await world.code_page()
    assert "The code was sent less than a minute ago and works for 10 minutes more." in page
    assert "(2 more codes can be sent for this sign-in)" in page
    page = await (await world.post("/authorize/resend", page)).text()
    assert "A new code is on its way." in page
    assert "(1 more code can be sent for this sign-in)" in page
    response = await world.post("/authorize/resend", page)
    page = await response.text()
    assert "No more codes can be sent for this sign-in." in page
    assert "/resend" not in page  # no button that can only fail
    assert "works for 10 minutes more" in page and '/code"' in page
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert "Allow access?" in await response.text()


# -- who is asking ----------------------------------------------------------------------------


async def test_the_apps_address_leads_and_its_name_is_only_its_claim(
    world: World, sites: Callable[..., Site]
) -> None:
    client = sites("app.test")
    json_client(client, name="Google", extra={"logo_uri": "http://app.test/logo.png"})
    await client.start()
    page = await world.code_page(client_id=client.url("/"), redirect_uri=client.url("/cb"))
    host = f"app.test:{client.port}"
    assert page.index(f"<strong>{host}</strong>") < page.index("calls itself “Google”")
    assert "<strong>Google</strong>" not in page
    assert f"<title>Enter your code · {host} · Gondulf</title>" in page
    assert "http://app.test/logo.png" not in page  # logos only over https
    assert '<span class="app-letter">G</span>' in page
    message = world.smtp.mailbox.messages[-1][1]
    text = body_of(message, "plain")
    assert f"to the app at {host}" in text and "Google" not in text
    assert f"Manage apps connected to your domain: {world.issuer}grants" in text


async def test_an_https_logo_is_shown_over_its_letter(
    world: World, sites: Callable[..., Site]
) -> None:
    page = await world.code_page()
    assert '<span class="app-letter">Q</span><img src="https://app.test/logo.png"' in page


# -- consent ----------------------------------------------------------------------------------


def test_permissions_are_grouped_and_destructive_ones_marked() -> None:
    groups = dict(grouped(("delete", "profile", "create", "block", "x-custom", "email")))
    assert list(groups) == [
        "See who you are",
        "Change your website",
        "Act for you in your reader",
        "Other permissions the app defines",
    ]
    assert [p.scope for p in groups["See who you are"]] == ["profile", "email"]
    assert [(p.scope, p.destructive) for p in groups["Change your website"]] == [
        ("create", False),
        ("delete", True),
    ]
    assert groups["Act for you in your reader"][0].destructive


async def test_consent_says_what_the_app_wants_and_leaves_destructive_ones_unticked(
    world: World,
) -> None:
    page = await world.code_page(scope="profile create delete block")
    response = await world.post("/authorize/code", page, code=world.last_code())
    page = await response.text()
    assert f"<strong>app.test:{world.app.port}</strong> wants to:" in page
    ticked = re.findall(r'name="scope" value="([^"]+)" checked', page)
    unticked = re.findall(r'name="scope" value="([^"]+)">', page)
    assert ticked == ["profile", "create"] and unticked == ["delete", "block"]
    assert page.count("removes things") == 2
    assert 'class="actions sticky"' in page
    # Allowed as shown: the destructive ones are not granted.
    response = await world.post(
        "/authorize/consent", page, action="approve", scope=["profile", "create"]
    )
    body = await (
        await world.redeem("/token", query_of(response.headers["Location"])["code"])
    ).json()
    assert body["scope"] == "profile create"


async def test_only_a_handle_names_a_sign_ins_pages(world: World) -> None:
    for path in ("/authorize/s/..%2F..%2Fx/code", "/authorize/s/%2F%2Fevil.test/code"):
        response = await world.gondulf.get(path, allow_redirects=False)
        assert response.status == 404 and "Location" not in response.headers


async def test_a_finished_sign_in_takes_its_cookie_away(world: World) -> None:
    page = await world.code_page()
    response = await world.post("/authorize/code", page, code=world.last_code())
    response = await world.post(
        "/authorize/consent", await response.text(), action="approve", scope=[]
    )
    assert response.status == 302
    cookie = response.headers["Set-Cookie"]
    assert "gondulf_signin=" in cookie and "Max-Age=0" in cookie
    assert f"Path={world.step_url}" in cookie
