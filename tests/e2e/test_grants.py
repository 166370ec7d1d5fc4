"""The grants page in a real browser: sign in with a code, see the app, end its access."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest

from e2e import pages
from e2e.checks import check_state
from e2e.conftest import ADDRESSES, Stage

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def signed_in_app_token(page: Page, stage: Stage) -> str:
    """Sign in to the app in this browser; the access token the app got."""
    await page.goto(stage.authorize_url(me=stage.me))
    await pages.choose_address(page, ADDRESSES[0])
    await pages.enter_code(page, stage.last_code())
    await pages.allow(page)
    await page.wait_for_url(stage.redirect_uri + "?*")
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    return str((await stage.redeem(code))["access_token"])


async def test_grants_page_signs_in_with_a_code_lists_the_app_and_ends_access(
    page: Page, stage: Stage
) -> None:
    token = await signed_in_app_token(page, stage)
    await page.context.clear_cookies()

    await page.goto(f"{stage.issuer}grants")
    await pages.heading(page, pages.HEADING_GRANTS_SIGN_IN).wait_for()
    await check_state(page, "grants-signin-website")
    await pages.enter_website(page, stage.me)
    await pages.choose_address(page, ADDRESSES[0])
    await pages.heading(page, pages.HEADING_CODE).wait_for()
    await check_state(page, "grants-signin-code")
    await pages.enter_code(page, stage.last_code())

    await pages.heading(page, pages.HEADING_GRANTS).wait_for()
    assert page.url == f"{stage.issuer}grants"
    await pages.app_listed(page, stage.app_host).wait_for()
    signed_in = pages.times(page).first
    assert await signed_in.inner_text() == "just now"
    assert (await signed_in.get_attribute("title") or "").endswith(" UTC")
    await check_state(page, "grants-list")

    await pages.ask_to_end_access(page, stage.app_host)
    await check_state(page, "grants-end")
    await pages.confirm_end_access(page)
    await page.get_by_text(pages.ACCESS_ENDED.format(app=stage.app_host)).wait_for()
    await page.get_by_text(pages.NO_APPS).wait_for()
    assert await pages.app_listed(page, stage.app_host).count() == 0
    assert not await stage.introspect(token)
    await check_state(page, "grants-empty")
