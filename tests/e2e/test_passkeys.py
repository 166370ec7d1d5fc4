"""Passkeys in a real browser, with Chromium's virtual authenticator (DevTools' WebAuthn
domain) standing in for a phone or a security key.

Gondulf runs at http://localhost:PORT/: browsers refuse passkeys on an IP address and
allow plain http only on localhost. Jane's homepage lists one address, so the address
page's button reads "Send my code to j…e@jane.test".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from playwright.async_api import expect
from support.dns_server import RunningDns

from e2e import pages
from e2e.checks import PHONE, check_state, screenshot
from e2e.conftest import ADDRESSES, Stage, shared_stage, staging

if TYPE_CHECKING:
    from playwright.async_api import Browser, CDPSession, Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

ADDRESS = ADDRESSES[0]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stage(
    tmp_path_factory: pytest.TempPathFactory, dns_server: RunningDns
) -> AsyncIterator[Stage]:
    folder = tmp_path_factory.mktemp("passkeys")
    async with shared_stage(folder, dns_server, host="localhost", emails=(ADDRESS,)) as made:
        yield made


@dataclass
class VirtualAuthenticator:
    """A platform authenticator that keeps discoverable passkeys, verifies the person
    (as a fingerprint would) and answers at once."""

    cdp: CDPSession
    id: str

    @classmethod
    async def attach(cls, page: Page) -> VirtualAuthenticator:
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("WebAuthn.enable")
        options = {
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": True,
            "hasUserVerification": True,
            "isUserVerified": True,
            "automaticPresenceSimulation": True,
        }
        added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
        return cls(cdp, added["authenticatorId"])

    async def credentials(self) -> list[dict[str, Any]]:
        found = await self.cdp.send("WebAuthn.getCredentials", {"authenticatorId": self.id})
        return list(found["credentials"])


async def sign_in_with_code(page: Page, stage: Stage, state: str) -> None:
    """From the app's link to the consent page, with the emailed code."""
    await page.goto(stage.authorize_url(me=stage.me, state=state))
    await pages.send_code(page)
    await pages.enter_code(page, stage.last_code())
    await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()


async def allow_and_land(page: Page, stage: Stage, state: str) -> dict[str, Any]:
    """Allow on the consent page; the app's token for the code it got back."""
    await pages.allow(page)
    await page.wait_for_url(stage.redirect_uri + "?*")
    query = stage.landed(page.url)
    assert query["state"] == state
    token = await stage.redeem(query["code"])
    assert token["me"] == stage.me
    return token


async def test_a_passkey_added_after_a_code_signs_in_without_email_until_removed(
    browser: Browser, page: Page, stage: Stage
) -> None:
    key = await VirtualAuthenticator.attach(page)
    use_passkey = page.get_by_role("button", name=pages.USE_PASSKEY)
    add_passkey = page.get_by_role("button", name=pages.ADD_PASSKEY)

    # An emailed code; the consent page offers a passkey (the script shows the offer).
    await page.goto(stage.authorize_url(me=stage.me, state="st-pk-add"))
    await expect(pages.heading(page, pages.HEADING_SEND_CODE)).to_be_visible()
    await expect(use_passkey).to_have_count(0)  # none yet
    await pages.send_code(page)
    await pages.enter_code(page, stage.last_code())
    await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()
    await expect(page.get_by_role("heading", name=pages.HEADING_ADD_PASSKEY)).to_be_visible()
    await expect(add_passkey).to_be_visible()
    await check_state(page, "signin-consent-passkey-offer")
    await add_passkey.click()
    await expect(pages.status(page, pages.PASSKEY_SAVED)).to_be_visible()
    await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()
    assert len(await key.credentials()) == 1
    await check_state(page, "signin-consent-passkey-saved")
    await allow_and_land(page, stage, "st-pk-add")

    # The next sign-in: "Use your passkey" first; no email, straight to consent.
    sent = stage.emails_sent()
    await page.goto(stage.authorize_url(me=stage.me, state="st-pk-use"))
    await expect(use_passkey).to_be_visible()
    await expect(page.get_by_role("heading", name=pages.HEADING_EMAIL_INSTEAD)).to_be_visible()
    await check_state(page, "signin-send-passkey")
    await use_passkey.click()
    await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()
    await expect(add_passkey).to_have_count(0)  # offered only after an emailed code
    await allow_and_land(page, stage, "st-pk-use")
    assert stage.emails_sent() == sent

    # Or the emailed code instead, from the same page.
    await page.goto(stage.authorize_url(me=stage.me, state="st-pk-email"))
    await expect(use_passkey).to_be_visible()
    await pages.send_code(page)
    assert stage.emails_sent() == sent + 1
    await pages.enter_code(page, stage.last_code())
    await allow_and_land(page, stage, "st-pk-email")

    await without_javascript_the_offers_stay_hidden_and_the_code_works(browser, stage)
    await with_passkeys_off_none_is_offered_though_one_is_kept(browser, stage)

    # The grants page, signed in with the passkey: remove it.
    await page.goto(f"{stage.issuer}grants")
    await pages.enter_website(page, stage.me)
    await use_passkey.click()
    await expect(pages.heading(page, pages.HEADING_GRANTS)).to_be_visible()
    await expect(page.get_by_role("heading", level=2, name=pages.HEADING_PASSKEYS)).to_be_visible()
    await expect(pages.passkey_names(page)).to_have_count(1)
    name = await pages.passkey_names(page).inner_text()
    await check_state(page, "grants-passkeys")
    await pages.remove_passkey(page, name)
    await expect(pages.status(page, pages.PASSKEY_REMOVED.format(name=name))).to_be_visible()
    await expect(page.get_by_text(pages.NO_PASSKEY)).to_be_visible()
    await expect(pages.passkey_names(page)).to_have_count(0)

    # The next sign-in offers no passkey: the emailed code, as before.
    await page.goto(stage.authorize_url(me=stage.me, state="st-pk-gone"))
    await expect(pages.heading(page, pages.HEADING_SEND_CODE)).to_be_visible()
    await expect(
        page.get_by_role("button", name=pages.USE_PASSKEY, include_hidden=True)
    ).to_have_count(0)
    await pages.send_code(page)
    await pages.enter_code(page, stage.last_code())
    await allow_and_land(page, stage, "st-pk-gone")


async def without_javascript_the_offers_stay_hidden_and_the_code_works(
    browser: Browser, stage: Stage
) -> None:
    """While Jane has a passkey: a browser without JavaScript sees neither "Use your
    passkey" nor "Add a passkey" (both are in the page, hidden), and the code works."""
    context = await browser.new_context(java_script_enabled=False, viewport=PHONE)
    try:
        page = await context.new_page()
        await page.goto(stage.authorize_url(me=stage.me, state="st-pk-nojs"))
        await expect(pages.heading(page, pages.HEADING_SEND_CODE)).to_be_visible()
        offer = page.get_by_role("button", name=pages.USE_PASSKEY, include_hidden=True)
        await expect(offer).to_have_count(1)
        await expect(offer).to_be_hidden()
        await screenshot(page, "nojs-signin-send-passkey-390-light")
        await pages.send_code(page)
        await pages.enter_code(page, stage.last_code())
        await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()
        add = page.get_by_role("button", name=pages.ADD_PASSKEY, include_hidden=True)
        await expect(add).to_have_count(1)
        await expect(add).to_be_hidden()
        await allow_and_land(page, stage, "st-pk-nojs")
    finally:
        await context.close()


async def with_passkeys_off_none_is_offered_though_one_is_kept(
    browser: Browser, stage: Stage
) -> None:
    """The same database served with GONDULF_PASSKEYS=false: Jane's passkey is kept but
    not offered, and nothing on the way (sign-in or grants page) mentions passkeys."""
    context = await browser.new_context(viewport=PHONE)
    settings = {"GONDULF_PASSKEYS": "false"}
    folder = stage.folder
    try:
        async with staging(
            folder, stage.dns, stage.smtp, host="localhost", settings=settings
        ) as off:
            page = await context.new_page()
            await page.goto(off.authorize_url(me=stage.me, state="st-pk-off"))  # Jane, as ever
            await expect(pages.heading(page, pages.HEADING_SEND_CODE)).to_be_visible()
            assert "passkey" not in (await page.content()).lower()
            await pages.send_code(page)
            await pages.enter_code(page, stage.last_code())
            await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()
            assert "passkey" not in (await page.content()).lower()
            await pages.allow(page)
            await page.wait_for_url(off.redirect_uri + "?*")
            assert off.landed(page.url)["state"] == "st-pk-off"

            await page.goto(f"{off.issuer}grants")
            await pages.enter_website(page, stage.me)
            await pages.send_code(page)
            await pages.enter_code(page, stage.last_code())
            await expect(pages.heading(page, pages.HEADING_GRANTS)).to_be_visible()
            await expect(page.get_by_text(stage.me, exact=True)).to_be_visible()
            await screenshot(page, "grants-passkeys-off-390-light")
            assert "passkey" not in (await page.content()).lower()
    finally:
        await context.close()
