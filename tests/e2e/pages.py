"""Every control and heading the browser tests use, found by its accessible name.

The only place the tests name what a person sees: when a label or a button changes,
this module changes and the tests stay as they are.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.async_api import Locator, Page


# -- what the pages say --------------------------------------------------------------------

WEBSITE_FIELD = "Your website address"
CONTINUE = re.compile(r"^(Continue|Check again)$")
SEND_CODE = re.compile(r"^Send (my|the) code")
CODE_FIELD = "Code from the email"
CONFIRM = "Confirm"
ALLOW = "Allow and sign in"
END_ACCESS = "End access"
END_ACCESS_FOR = "End access for {app}"  # the link on the grants page, for one app

HEADING_WEBSITE = "Sign in with your website"
HEADING_GRANTS_SIGN_IN = "Sign in to manage your apps"
HEADING_CHOOSE_ADDRESS = "Where should the code go?"
HEADING_CODE = "Enter your code"
HEADING_CONSENT = "Allow access?"
HEADING_GRANTS = "Your apps"
HEADING_END_ACCESS = "End access for {app}?"
HEADING_HOME = "Sign in with your domain"
HEADING_NO_DNS_RECORD = "Your domain is not set up for this server"
HEADING_HOMEPAGE_UNREACHABLE = "Your homepage could not be loaded"

WRONG_CODE = "That code is not right"
TRIES_LEFT = "2 tries left for this code."
NO_APPS = "No app has access right now."
ACCESS_ENDED = "Access ended: {app} can no longer act for you."


def heading(page: Page, name: str) -> Locator:
    return page.get_by_role("heading", level=1, name=name)


def alert(page: Page) -> Locator:
    return page.get_by_role("alert")


def problem(page: Page, title: str) -> Locator:
    """A problem's title: the page's own heading, or the heading of a note on a step."""
    return page.get_by_role("heading", name=title)


def favicon(page: Page) -> Locator:
    return page.locator('head link[rel="icon"]')


def times(page: Page) -> Locator:
    """The times shown in words (`3 days ago`), each carrying its exact UTC time."""
    return page.locator("time")


# -- what a person does --------------------------------------------------------------------


async def enter_website(page: Page, website: str) -> None:
    """The website page (of a sign-in to an app or to the grants page): type and continue."""
    await page.get_by_label(WEBSITE_FIELD).fill(website)
    await page.get_by_role("button", name=CONTINUE).click()


def shown_address(address: str) -> str:
    """An address as the pages show it: `jane@jane.test` is `j…e@jane.test`."""
    local, _, domain = address.partition("@")
    return f"{local[0]}…{local[-1]}@{domain}"


async def choose_address(page: Page, address: str) -> None:
    """The address page: pick one of the homepage's addresses and have the code sent."""
    await heading(page, HEADING_CHOOSE_ADDRESS).wait_for()
    await page.get_by_role("radio", name=shown_address(address)).check()
    await page.get_by_role("button", name=SEND_CODE).click()


async def enter_code(page: Page, code: str) -> None:
    """The code page: type the emailed code and confirm."""
    await heading(page, HEADING_CODE).wait_for()
    await page.get_by_label(CODE_FIELD).fill(code)
    await page.get_by_role("button", name=CONFIRM).click()


async def allow(page: Page) -> None:
    """The consent page: allow what the app asks for."""
    await heading(page, HEADING_CONSENT).wait_for()
    await page.get_by_role("button", name=ALLOW).click()


def app_listed(page: Page, app: str) -> Locator:
    """The app's entry on the grants page, under its host."""
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", level=2, name=app))


async def ask_to_end_access(page: Page, app: str) -> None:
    """On the grants page: ask to end the app's access; the page asking to confirm."""
    await page.get_by_role("link", name=END_ACCESS_FOR.format(app=app)).click()
    await heading(page, HEADING_END_ACCESS.format(app=app)).wait_for()


async def confirm_end_access(page: Page) -> None:
    await page.get_by_role("button", name=END_ACCESS, exact=True).click()
