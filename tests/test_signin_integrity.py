"""Sign-in integrity: a code proves exactly the identity it was sent for.

Tried as an attacker would, over real HTTP with real DNS, SMTP and homepages.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable

import pytest
from support.signin import World, homepage_html
from support.web_server import Site, html

ROUNDS = 40
NO_LIMITS = {"GONDULF_LIMIT_SIGNINS_PER_IP": "100000", "GONDULF_LIMIT_CODES_PER_IP": "100000",
             "GONDULF_LIMIT_CODES_PER_ADDRESS": "200000",
             "GONDULF_LIMIT_CODES_PER_DOMAIN": "200000"}


async def _person(world: World, sites: Callable[..., Site], host: str,
                  emails: tuple[str, ...]) -> Site:
    """A set-up person at `host`: DNS proof, an address and a homepage listing `emails`."""
    world.dns.zone.add_txt(f"_gondulf.{host}", "gondulf-verify-domain")
    world.dns.zone.add_a(host)
    site = sites(host).route("/", html(homepage_html(world.issuer, emails=emails)))
    return await site.start()


async def _code_sent_for(world: World, me: str) -> str:
    """Start a sign-in as `me` and have a code sent; returns the code page."""
    response = await world.get_authorize(me=me)
    page = await response.text()
    if 'action="/authorize/email"' in page:
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
    attacker_site = sites("attacker.test").route("/", html(homepage_html(
        world.issuer, emails=("mallory@attacker.test",))))
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

        await asyncio.gather(world.post("/authorize/website", page, me=victim.url("/")),
                             resend_later())
        recipients, message = world.smtp.mailbox.messages[-1]
        code = str(message["Subject"]).rsplit(" ", 1)[1]
        response = await world.post("/authorize/code", page, code=code)
        text = await response.text()
        if "Allow access?" in text and victim.url("/") in text \
                and recipients == ["mallory@attacker.test"]:
            mixed.append(round_)
    assert mixed == [], f"verified as the victim with the attacker's code in rounds {mixed}"
