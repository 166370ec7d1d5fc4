"""The pages outside a sign-in's happy path: the home page and the problem pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from e2e import pages
from e2e.checks import check_state
from e2e.conftest import Stage

if TYPE_CHECKING:
    from playwright.async_api import Page

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_home_page(page: Page, stage: Stage) -> None:
    response = await page.goto(stage.issuer)
    assert response is not None and response.status == 200
    await pages.heading(page, pages.HEADING_HOME).wait_for()
    await check_state(page, "home")


async def test_every_page_links_the_favicon(page: Page, stage: Stage) -> None:
    await page.goto(stage.issuer)
    href = await pages.favicon(page).get_attribute("href")
    assert href is not None and href.startswith("/static/favicon.svg")
    icon = await page.request.get(stage.issuer + href.lstrip("/"))
    assert icon.status == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert (await icon.text()).startswith("<svg")


async def test_domain_without_its_dns_record_is_a_page_naming_the_record(
    page: Page, stage: Stage
) -> None:
    stage.dns.zone.records.pop("_gondulf.jane.test")
    await page.goto(stage.authorize_url())
    await pages.enter_website(page, stage.me)
    await pages.problem(page, pages.HEADING_NO_DNS_RECORD).wait_for()
    assert await page.get_by_text('_gondulf.jane.test.  IN  TXT  "gondulf-verify-domain"').count()
    assert stage.smtp.mailbox.messages == []
    await check_state(page, "problem-no-dns-record")


async def test_unreachable_homepage_is_a_page_saying_so(page: Page, stage: Stage) -> None:
    me = stage.me
    await stage.homepage.stop()
    await page.goto(stage.authorize_url())
    await pages.enter_website(page, me)
    await pages.problem(page, pages.HEADING_HOMEPAGE_UNREACHABLE).wait_for()
    await check_state(page, "problem-homepage-unreachable")
