"""Sign-in integrity: a code proves exactly the identity it was sent for.

Tried as an attacker would, over real HTTP with real DNS, SMTP and homepages.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import replace

import pytest
from aiohttp.test_utils import TestClient
from support.signin import World, homepage_html, json_client
from support.smtp_server import body_of
from support.web_server import Site, html, redirect

from gondulf.services.signin.email_code import EmailProof, email_state
from gondulf.services.signin.flow import SignIn
from gondulf.services.signin.problems import Problem, SignInProblem
from gondulf.services.signin.sessions import AuthSession
from gondulf.web.keys import SERVICES

ROUNDS = 40
NO_LIMITS = {
    "GONDULF_LIMIT_SIGNINS_PER_IP": "100000",
    "GONDULF_LIMIT_CODES_PER_IP": "100000",
    "GONDULF_LIMIT_CODES_PER_ADDRESS": "200000",
    "GONDULF_LIMIT_CODES_PER_DOMAIN": "200000",
}


async def _person(
    world: World, sites: Callable[..., Site], host: str, emails: tuple[str, ...]
) -> Site:
    """A set-up person at `host`: DNS proof, an address and a homepage listing `emails`."""
    world.dns.zone.add_txt(f"_gondulf.{host}", "gondulf-verify-domain")
    world.dns.zone.add_a(host)
    site = sites(host).route("/", html(homepage_html(world.issuer, emails=emails)))
    return await site.start()


async def _code_sent_for(world: World, me: str) -> str:
    """Start a sign-in as `me` and have a code sent; returns the code page."""
    response = await world.get_authorize(me=me)
    page = await response.text()
    if '/email"' in page:
        response = await world.post("/authorize/email", page, email="0")
        page = await response.text()
    assert "Enter your code" in page, page
    return page


@pytest.mark.settings(**NO_LIMITS)
async def test_a_code_never_proves_another_identity_than_it_was_sent_for(
    world: World, sites: Callable[..., Site]
) -> None:
    """Switching the website while a code is (re)sent must never mix two identities.

    The attacker's session holds the attacker's site; concurrently they switch it to the
    victim's (whose homepage lists two addresses, so nothing is sent at once) and ask for
    a new code. No interleaving may leave the session verified as the victim with a code
    that went to the attacker.
    """
    victim = await _person(world, sites, "victim.test", ("v1@victim.test", "v2@victim.test"))
    attacker_site = sites("attacker.test").route(
        "/", html(homepage_html(world.issuer, emails=("mallory@attacker.test",)))
    )
    await attacker_site.start()
    mixed = []
    for round_ in range(ROUNDS):
        host = f"a{round_}.attacker.test"  # a fresh domain a round: its own code budget
        world.dns.zone.add_txt(f"_gondulf.{host}", "gondulf-verify-domain")
        world.dns.zone.add_a(host)
        page = await _code_sent_for(world, f"http://{host}:{attacker_site.port}/")

        async def resend_later(page: str = page) -> None:
            await asyncio.sleep(random.uniform(0, 0.03))
            await world.post("/authorize/resend", page)

        await asyncio.gather(
            world.post("/authorize/website", page, me=victim.url("/")), resend_later()
        )
        recipients, message = world.smtp.mailbox.messages[-1]
        code = str(message["Subject"]).rsplit(" ", 1)[1]
        response = await world.post("/authorize/code", page, code=code)
        text = await response.text()
        if (
            "Allow access?" in text
            and victim.url("/") in text
            and recipients == ["mallory@attacker.test"]
        ):
            mixed.append(round_)
    assert mixed == [], f"verified as the victim with the attacker's code in rounds {mixed}"


# -- each mechanism on its own --------------------------------------------------------------


def _signin(world: World) -> SignIn:
    assert isinstance(world.gondulf, TestClient) and world.gondulf.app is not None
    return world.gondulf.app[SERVICES].signin


async def _session(world: World, signin: SignIn) -> AuthSession:
    session = await signin.sessions.get(world.session_id())
    assert session is not None
    return session


def _state(session: AuthSession) -> EmailProof:
    state = email_state(session)
    assert state is not None
    return state


async def test_a_stale_decision_writes_nothing(world: World, sites: Callable[..., Site]) -> None:
    """The interleaving of the race, step by step: the resend decided on the attacker's
    session must not land once the website was switched to the victim's."""
    victim = await _person(world, sites, "victim.test", ("v1@victim.test", "v2@victim.test"))
    await world.code_page()
    signin = _signin(world)
    stale = await _session(world, signin)
    switched = await signin.identify(stale, victim.url("/"))
    assert switched.me == victim.url("/")
    sent = len(world.smtp.mailbox.messages)
    with pytest.raises(SignInProblem) as caught:
        await signin.email_code.send_code(stale, "jane@jane.test", "127.0.0.1")
    assert caught.value.kind == Problem.CHANGED
    assert len(world.smtp.mailbox.messages) == sent  # nothing was mailed
    current = await _session(world, signin)
    assert current.me == victim.url("/") and _state(current).code_digest is None


async def test_two_saves_from_one_revision_exactly_one_lands(world: World) -> None:
    await world.code_page()
    signin = _signin(world)
    session = await _session(world, signin)
    first = replace(session, proof=replace(_state(session), attempts=1))
    second = replace(session, proof=replace(_state(session), attempts=2))
    results = await asyncio.gather(
        signin.sessions.save(session, first), signin.sessions.save(session, second)
    )
    assert sorted(r is None for r in results) == [False, True]


def test_a_code_matches_only_the_identity_and_addresses_it_was_sent_for() -> None:
    proof = EmailProof(("a@x.test", "b@x.test")).with_code(
        "k" * 32, "https://x.test/", "a@x.test", "123456", 2**40
    )
    assert proof.matches("k" * 32, "https://x.test/", "123456")
    assert not proof.matches("k" * 32, "https://y.test/", "123456")
    assert not replace(proof, emails=("a@x.test",)).matches("k" * 32, "https://x.test/", "123456")
    assert not replace(proof, email="b@x.test").matches("k" * 32, "https://x.test/", "123456")


async def test_changing_the_website_after_a_code_was_sent_ends_the_code(
    world: World, sites: Callable[..., Site]
) -> None:
    other = await _person(world, sites, "other.test", ("o@other.test",))
    page = await world.code_page()
    code = world.last_code()
    await world.post("/authorize/website", page, me=other.url("/"))
    response = await world.post("/authorize/code", page, code=code)
    text = await response.text()
    assert "Allow access?" not in text
    assert '/email"' in text  # the new website's code was never sent


async def test_a_me_hint_alone_sends_no_email(world: World) -> None:
    """A stranger's link (or <img>) to /authorize?me=victim must not mail the victim."""
    for _ in range(3):
        world.gondulf.session.cookie_jar.clear()
        response = await world.get_authorize()
        page = await response.text()
        assert response.status == 200 and "Send my code to j…e@jane.test" in page
    assert world.smtp.mailbox.messages == []


async def test_a_failed_email_leaves_no_code_and_uses_no_quota(world: World) -> None:
    response = await world.get_authorize()
    page = await response.text()
    world.smtp.mailbox.refuse_all = True
    for _ in range(6):  # more than the per-sign-in and per-address limits
        response = await world.post("/authorize/email", page, email="0")
        assert response.status == 502
    signin = _signin(world)
    session = await _session(world, signin)
    assert _state(session).code_digest is None and _state(session).codes_sent == 0
    world.smtp.mailbox.refuse_all = False
    page = await world.send_code(page)
    response = await world.post("/authorize/code", page, code=world.last_code())
    assert "Allow access?" in await response.text()


async def test_approving_twice_at_once_issues_one_code(world: World) -> None:
    page = await world.code_page()
    response = await world.post("/authorize/code", page, code=world.last_code())
    page = await response.text()
    responses = await asyncio.gather(
        *(
            world.post("/authorize/consent", page, action="approve", scope=["profile"])
            for _ in range(4)
        )
    )
    assert sorted(r.status for r in responses)[0] == 302
    assert [r.status for r in responses].count(302) == 1


# -- the address that proves an identity comes from the identity's own site ---------------------


async def _mallory(world: World, sites: Callable[..., Site], *, txt: bool) -> Site:
    """A page on another host listing the attacker's address."""
    if txt:
        world.dns.zone.add_txt("_gondulf.attacker.test", "gondulf-verify-domain")
    world.dns.zone.add_a("attacker.test")
    site = sites("attacker.test").route(
        "/page", html(homepage_html(world.issuer, emails=("mallory@attacker.test",)))
    )
    return await site.start()


@pytest.mark.parametrize("status", [302, 303, 307])
async def test_a_temporary_redirect_to_another_host_proves_nothing(
    world: World, sites: Callable[..., Site], status: int
) -> None:
    mallory = await _mallory(world, sites, txt=True)
    victim = sites("jane.test").route("/go", redirect(mallory.url("/page"), status))
    await victim.start()
    response = await world.get_authorize(me=victim.url("/go"))
    page = await response.text()
    assert "Your homepage is on another site" in page
    assert "mallory" not in page and '/email"' not in page
    assert world.smtp.mailbox.messages == []


async def test_a_permanent_redirect_to_another_host_needs_that_hosts_own_dns_proof(
    world: World, sites: Callable[..., Site]
) -> None:
    mallory = await _mallory(world, sites, txt=False)
    victim = sites("jane.test").route("/go", redirect(mallory.url("/page"), 301))
    await victim.start()
    response = await world.get_authorize(me=victim.url("/go"))
    page = await response.text()
    assert "Your domain is not set up for this server" in page
    assert "_gondulf.attacker.test" in page
    assert world.smtp.mailbox.messages == []


async def test_a_permanent_redirect_to_a_proven_host_makes_it_the_identity(
    world: World, sites: Callable[..., Site]
) -> None:
    moved = await _mallory(world, sites, txt=True)
    old = sites("jane.test").route("/", redirect(moved.url("/page"), 308))
    await old.start()
    query = await world.sign_in(me=old.url("/"))
    body = await (await world.redeem("/token", query["code"])).json()
    assert body["me"] == moved.url("/page")
    assert world.smtp.mailbox.messages[-1][0] == ["mallory@attacker.test"]


@pytest.mark.parametrize("typed", ["JANE.test", "jane.test.", "Jane.Test."])
async def test_one_host_is_one_identity_however_it_is_typed(world: World, typed: str) -> None:
    url = world.me.replace("jane.test", typed)
    query = await world.sign_in(me=url)
    body = await (await world.redeem("/token", query["code"])).json()
    assert body["me"] == world.me


async def test_an_identity_cannot_be_spelled_under_another_persons_path(
    world: World, sites: Callable[..., Site]
) -> None:
    shared = await _person(world, sites, "shared.test", ("bob@shared.test",))
    response = await world.get_authorize(me=None)
    response = await world.post(
        "/authorize/website", await response.text(), me=shared.url("/~alice/%2e%2e/~bob/")
    )
    assert response.status == 400 and ". or .. path segments" in await response.text()
    assert world.smtp.mailbox.messages == []


async def test_entering_the_website_again_does_not_reset_the_codes_per_sign_in(
    world: World,
) -> None:
    page = await world.code_page()
    for _ in range(2):
        assert (await world.post("/authorize/resend", page)).status == 200
    assert (await world.post("/authorize/resend", page)).status == 429
    response = await world.post("/authorize/website", page, me=world.me)
    response = await world.post("/authorize/email", await response.text(), email="0")
    assert response.status == 429 and len(world.smtp.mailbox.messages) == 3


async def test_the_code_email_carries_no_text_an_app_chose(
    world: World, sites: Callable[..., Site]
) -> None:
    """Anyone can list any address on their own homepage: the email that reaches it must not
    carry a message of their choosing (an app's name is the app's own words)."""
    world.dns.zone.add_a("evilapp.test")
    app = sites("evilapp.test")
    json_client(app, name="URGENT - your bank account is locked, call +1 555 0100")
    await app.start()
    await world.code_page(client_id=app.url("/"), redirect_uri=app.url("/callback"))
    _, message = world.smtp.mailbox.messages[-1]
    text, html = body_of(message, "plain"), body_of(message, "html")
    assert "URGENT" not in text + html + str(message["Subject"])
    assert f"evilapp.test:{app.port}" in text  # the app is named by its address only
    assert "lists this address" in text


async def test_a_strangers_attempt_with_an_unproven_domain_leaves_no_row(world: World) -> None:
    response = await world.get_authorize(me="http://nobody.test/")
    assert response.status == 400
    assert isinstance(world.gondulf, TestClient) and world.gondulf.app is not None
    domains = world.gondulf.app[SERVICES].domains
    assert await domains.get("nobody.test") is None
    assert [record.domain for record in await domains.list()] == []
