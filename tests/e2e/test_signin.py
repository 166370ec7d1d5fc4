"""A whole sign-in in a real browser, from the app's link back to the app with a code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_asyncio
from support.dns_server import RunningDns

from e2e import pages
from e2e.checks import check_state, screenshot
from e2e.conftest import ADDRESSES, APP_NAME, Stage, shared_stage

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stage(
    tmp_path_factory: pytest.TempPathFactory, dns_server: RunningDns
) -> AsyncIterator[Stage]:
    async with shared_stage(tmp_path_factory.mktemp("signin"), dns_server) as made:
        yield made


async def test_whole_sign_in_lands_on_the_app_with_a_code_it_can_redeem(
    page: Page, stage: Stage
) -> None:
    await page.goto(stage.authorize_url())
    await pages.heading(page, pages.HEADING_WEBSITE).wait_for()
    await check_state(page, "signin-website")

    await pages.enter_website(page, stage.me)
    await pages.heading(page, pages.HEADING_CHOOSE_ADDRESS).wait_for()
    await check_state(page, "signin-email-choice")

    await pages.choose_address(page, ADDRESSES[1])
    await pages.heading(page, pages.HEADING_CODE).wait_for()
    assert stage.smtp.mailbox.messages[-1][0] == [ADDRESSES[1]]
    await check_state(page, "signin-code")

    await pages.enter_code(page, stage.last_code())
    await pages.heading(page, pages.HEADING_CONSENT).wait_for()
    assert await page.get_by_text(stage.app_host).first.is_visible()
    assert await page.get_by_text(APP_NAME).first.is_visible()
    await check_state(page, "signin-consent")

    await pages.allow(page)
    await page.wait_for_url(stage.redirect_uri + "?*")
    query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert query["state"] == "st-e2e" and query["iss"] == stage.issuer
    assert stage.callbacks[-1] == query
    token = await stage.redeem(query["code"])
    assert token["me"] == stage.me and token["scope"] == "profile create"


async def test_wrong_code_is_shown_with_the_tries_left(page: Page, stage: Stage) -> None:
    await page.goto(stage.authorize_url(me=stage.me))
    await pages.choose_address(page, ADDRESSES[0])
    right = stage.last_code()
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    await pages.enter_code(page, wrong)
    await (
        pages.alert(page)
        .filter(has_text=pages.WRONG_CODE)
        .filter(has_text=pages.TRIES_LEFT)
        .wait_for()
    )
    await pages.heading(page, pages.HEADING_CODE).wait_for()
    await check_state(page, "signin-code-wrong")

    await pages.enter_code(page, right)  # the right code still works after a wrong one
    await pages.heading(page, pages.HEADING_CONSENT).wait_for()


async def test_the_whole_sign_in_needs_no_javascript(browser: Browser, stage: Stage) -> None:
    context = await browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    try:
        page = await context.new_page()
        await page.goto(stage.authorize_url())
        assert await page.evaluate("typeof window.setTimeout") == "function"  # evaluate still runs
        await screenshot(page, "nojs-signin-website-390-light")
        await pages.enter_website(page, stage.me)
        await pages.choose_address(page, ADDRESSES[0])
        await pages.enter_code(page, stage.last_code())
        await pages.heading(page, pages.HEADING_CONSENT).wait_for()
        await screenshot(page, "nojs-signin-consent-390-light")
        await pages.allow(page)
        await page.wait_for_url(stage.redirect_uri + "?*")
        query = {k: v[0] for k, v in parse_qs(urlsplit(page.url).query).items()}
        assert query["state"] == "st-e2e"
        assert (await stage.redeem(query["code"]))["me"] == stage.me
    finally:
        await context.close()
