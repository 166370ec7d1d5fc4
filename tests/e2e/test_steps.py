"""A sign-in as people really move through it: reloading, going Back, two tabs, cancelling
from any page, and asking for codes until no more may be sent.

Every form answers with a redirect to the sign-in's page, so the browser only ever holds
GET pages: reloading shows the step again, with nothing sent or counted twice.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from playwright.async_api import expect
from support.dns_server import RunningDns

from e2e import pages
from e2e.checks import check_state
from e2e.conftest import ADDRESSES, APP_NAME, OTHER_APP_NAME, Stage, shared_stage

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, Page

pytestmark = pytest.mark.asyncio(loop_scope="session")

STEP_PAGE = re.compile(r"/authorize/s/[0-9a-f]+/$")  # the one address of a sign-in's pages


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stage(
    tmp_path_factory: pytest.TempPathFactory, dns_server: RunningDns
) -> AsyncIterator[Stage]:
    async with shared_stage(tmp_path_factory.mktemp("steps"), dns_server) as made:
        yield made


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def reload_shows(page: Page, title: str, *, status: int = 200) -> None:
    """Reload: the same step's page, fetched again with GET (no form sent twice)."""
    response = await page.reload()
    assert response is not None
    assert (response.request.method, response.status) == ("GET", status), page.url
    assert STEP_PAGE.search(page.url), page.url
    await expect(pages.heading(page, title)).to_be_visible()


async def test_reloading_each_step_shows_it_again_and_sends_or_spends_nothing(
    page: Page, stage: Stage
) -> None:
    await page.goto(stage.authorize_url(state="st-reload"))
    await expect(pages.heading(page, pages.HEADING_WEBSITE)).to_be_visible()
    await reload_shows(page, pages.HEADING_WEBSITE)

    await pages.enter_website(page, stage.me)
    await expect(pages.heading(page, pages.HEADING_CHOOSE_ADDRESS)).to_be_visible()
    sent = stage.emails_sent()
    await reload_shows(page, pages.HEADING_CHOOSE_ADDRESS)

    await pages.choose_address(page, ADDRESSES[0])
    await expect(pages.heading(page, pages.HEADING_CODE)).to_be_visible()
    assert stage.emails_sent() == sent + 1
    await reload_shows(page, pages.HEADING_CODE)
    assert stage.emails_sent() == sent + 1  # the code was not sent again
    right = stage.last_code()

    await pages.enter_code(page, wrong(right))
    await expect(pages.alert(page)).to_contain_text(pages.TRIES_LEFT)
    for _ in range(2):  # reloading the wrong code's page spends no try
        await reload_shows(page, pages.HEADING_CODE, status=400)
        await expect(pages.alert(page)).to_contain_text(pages.TRIES_LEFT)
    await pages.enter_code(page, wrong(right))
    await expect(pages.alert(page)).to_contain_text(pages.LAST_TRY)
    await check_state(page, "signin-code-last-try")
    await reload_shows(page, pages.HEADING_CODE, status=400)
    await expect(pages.alert(page)).to_contain_text(pages.LAST_TRY)

    await pages.enter_code(page, right)  # the last try
    await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()
    await reload_shows(page, pages.HEADING_CONSENT)
    await pages.allow(page)
    await page.wait_for_url(stage.redirect_uri + "?*")
    query = stage.landed(page.url)
    assert query["state"] == "st-reload"
    assert (await stage.redeem(query["code"]))["me"] == stage.me
    assert stage.emails_sent() == sent + 1


async def test_back_from_consent_shows_the_step_the_sign_in_is_at(page: Page, stage: Stage) -> None:
    await page.goto(stage.authorize_url(me=stage.me, state="st-back"))
    await pages.choose_address(page, ADDRESSES[0])
    await pages.enter_code(page, stage.last_code())
    await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()

    for _ in range(2):  # back past the code page, then past the address page
        response = await page.go_back()
        assert response is not None, "Back showed a page kept from before"
        assert (response.request.method, response.status) == ("GET", 200)
        assert STEP_PAGE.search(page.url), page.url
        await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()

    await pages.allow(page)  # the page Back showed is live: it finishes the sign-in
    await page.wait_for_url(stage.redirect_uri + "?*")
    assert stage.landed(page.url)["state"] == "st-back"


async def test_two_tabs_sign_in_to_two_apps_and_each_lands_on_its_own(
    context: BrowserContext, page: Page, stage: Stage
) -> None:
    first, second = page, await context.new_page()
    await first.goto(stage.authorize_url(me=stage.me, state="st-first"))
    first_verifier = stage.verifier
    await pages.choose_address(first, ADDRESSES[0])
    await expect(pages.heading(first, pages.HEADING_CODE)).to_be_visible()
    first_code = stage.last_code()

    other = stage.other_app
    await second.goto(stage.authorize_url(app=other, me=stage.me, state="st-second"))
    second_verifier = stage.verifier
    await pages.choose_address(second, ADDRESSES[1])
    await expect(pages.heading(second, pages.HEADING_CODE)).to_be_visible()
    second_code = stage.last_code()

    # The first tab finishes, after the second started: its own sign-in, its own app.
    await pages.enter_code(first, first_code)
    await expect(pages.heading(first, pages.HEADING_CONSENT)).to_be_visible()
    await expect(first.get_by_text(stage.app_host, exact=True).first).to_be_visible()
    await pages.allow(first)
    await first.wait_for_url(stage.redirect_uri + "?*")
    await expect(first.get_by_role("heading", name=f"Back in {APP_NAME}")).to_be_visible()
    query = stage.landed(first.url)
    assert query["state"] == "st-first"
    assert (await stage.redeem(query["code"], verifier=first_verifier))["me"] == stage.me

    await pages.enter_code(second, second_code)
    await expect(pages.heading(second, pages.HEADING_CONSENT)).to_be_visible()
    other_host = f"other-app.test:{other.port}"
    await expect(second.get_by_text(other_host, exact=True).first).to_be_visible()
    await pages.allow(second)
    await second.wait_for_url(other.url("/**"))
    await expect(second.get_by_role("heading", name=f"Back in {OTHER_APP_NAME}")).to_be_visible()
    query = stage.landed(second.url, app=other)
    assert query["state"] == "st-second"
    token = await stage.redeem(query["code"], app=other, verifier=second_verifier)
    assert token["me"] == stage.me


@pytest.mark.parametrize("at", ["website", "send", "code", "problem", "consent"])
async def test_cancel_from_every_page_returns_access_denied_to_the_app(
    page: Page, stage: Stage, at: str
) -> None:
    state = f"st-cancel-{at}"
    if at in ("website", "problem"):
        await page.goto(stage.authorize_url(state=state))
    else:
        await page.goto(stage.authorize_url(state=state, me=stage.me))
    title = {
        "website": pages.HEADING_WEBSITE,
        "send": pages.HEADING_CHOOSE_ADDRESS,
        "problem": pages.HEADING_WEBSITE,
    }.get(at, pages.HEADING_CODE)
    if at == "problem":
        await pages.enter_website(page, "nodns.test")  # no _gondulf record
        await expect(pages.problem(page, pages.HEADING_NO_DNS_RECORD)).to_be_visible()
    elif at in ("code", "consent"):
        await pages.choose_address(page, ADDRESSES[0])
    await expect(pages.heading(page, title)).to_be_visible()

    if at == "consent":
        await pages.enter_code(page, stage.last_code())
        await expect(pages.heading(page, pages.HEADING_CONSENT)).to_be_visible()
        await page.get_by_role("button", name=pages.CANCEL_CONSENT, exact=True).click()
    else:
        await pages.cancel(page, stage.app_host)

    await page.wait_for_url(stage.redirect_uri + "?*")
    await expect(page.get_by_role("heading", name=f"Back in {APP_NAME}")).to_be_visible()
    query = stage.landed(page.url)
    assert query["error"] == "access_denied" and query["state"] == state
    assert "code" not in query


async def test_resending_until_no_more_codes_may_be_sent_and_the_last_code_works(
    page: Page, stage: Stage
) -> None:
    await page.goto(stage.authorize_url(me=stage.me, state="st-resend"))
    await pages.choose_address(page, ADDRESSES[0])
    await expect(page.get_by_text(pages.codes_left(2))).to_be_visible()
    sent = stage.emails_sent()
    resend = page.get_by_role("button", name=pages.SEND_NEW_CODE)

    await resend.click()
    await expect(pages.status(page, pages.NEW_CODE_SENT)).to_be_visible()
    await expect(page.get_by_text(pages.codes_left(1))).to_be_visible()
    await resend.click()
    await expect(page.get_by_text(pages.NO_MORE_CODES)).to_be_visible()
    await expect(resend).to_have_count(0)  # no button that could only fail
    assert stage.emails_sent() == sent + 2
    await check_state(page, "signin-code-no-more-codes")

    await pages.enter_code(page, stage.last_code())
    await pages.allow(page)
    await page.wait_for_url(stage.redirect_uri + "?*")
    query = stage.landed(page.url)
    assert query["state"] == "st-resend"
    assert (await stage.redeem(query["code"]))["me"] == stage.me
