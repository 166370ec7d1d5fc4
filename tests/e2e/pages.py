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
SEND_NEW_CODE = "Send a new code"
CODE_FIELD = "Code from the email"
CONFIRM = "Confirm"
ALLOW = "Allow and sign in"
END_ACCESS = "End access"
END_ACCESS_FOR = "End access for {app}"  # the link on the grants page, for one app
CANCEL_TO = "Cancel and return to {app}"  # on every page of a sign-in before consent
CANCEL_CONSENT = "Cancel (return to the app)"
USE_PASSKEY = "Use your passkey"
ADD_PASSKEY = "Add a passkey"
REMOVE_PASSKEY = "Remove {name}"  # on the grants page, for one passkey

HEADING_WEBSITE = "Sign in with your website"
HEADING_GRANTS_SIGN_IN = "Sign in to manage your apps"
HEADING_CHOOSE_ADDRESS = "Where should the code go?"
HEADING_SEND_CODE = "Send your code"  # a homepage listing one address
HEADING_CODE = "Enter your code"
HEADING_CONSENT = "Allow access?"
HEADING_GRANTS = "Your apps"
HEADING_END_ACCESS = "End access for {app}?"
HEADING_HOME = "Sign in with your domain"
HEADING_NO_DNS_RECORD = "Your domain is not set up for this server"
HEADING_HOMEPAGE_UNREACHABLE = "Your homepage could not be loaded"
HEADING_EMAIL_INSTEAD = "Or email me a code instead"  # below "Use your passkey"
HEADING_ADD_PASSKEY = "Sign in faster next time with a passkey"
HEADING_PASSKEYS = "Your passkeys"
HEADING_BACK_IN_APP = "Back in {app}"  # the app's page on its redirect_uri

WRONG_CODE = "That code is not right"
TRIES_LEFT = "2 tries left for this code."
LAST_TRY = "1 try left for this code."
NEW_CODE_SENT = "A new code is on its way."
CODES_LEFT = "({count} more {codes} can be sent for this sign-in)"
NO_MORE_CODES = "No more codes can be sent for this sign-in."
PASSKEY_SAVED = re.compile(r"^Passkey “.+” saved: next time, sign in with it\.$")
PASSKEY_REMOVED = "Passkey “{name}” removed: it no longer works."
NO_PASSKEY = "No passkey yet: every sign-in asks for an emailed code."
NO_APPS = "No app has access right now."
ACCESS_ENDED = "Access ended: {app} can no longer act for you."


def heading(page: Page, name: str) -> Locator:
    return page.get_by_role("heading", level=1, name=name)


def alert(page: Page) -> Locator:
    return page.get_by_role("alert")


def status(page: Page, text: str | re.Pattern[str]) -> Locator:
    """A message saying what a form did (`A new code is on its way.`)."""
    return page.get_by_role("status").filter(has_text=text)


def codes_left(count: int) -> str:
    return CODES_LEFT.format(count=count, codes="code" if count == 1 else "codes")


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
    """The address page: pick one of the homepage's addresses and have the code sent; back
    once the code page shows (the email has been received by then)."""
    await heading(page, HEADING_CHOOSE_ADDRESS).wait_for()
    await page.get_by_role("radio", name=shown_address(address)).check()
    await page.get_by_role("button", name=SEND_CODE).click()
    await heading(page, HEADING_CODE).wait_for()


async def send_code(page: Page) -> None:
    """The address page of a homepage listing one address: have the code sent there; back
    once the code page shows."""
    await heading(page, HEADING_SEND_CODE).wait_for()
    await page.get_by_role("button", name=SEND_CODE).click()
    await heading(page, HEADING_CODE).wait_for()


async def enter_code(page: Page, code: str) -> None:
    """The code page: type the emailed code and confirm."""
    await heading(page, HEADING_CODE).wait_for()
    await page.get_by_label(CODE_FIELD).fill(code)
    await page.get_by_role("button", name=CONFIRM).click()


async def allow(page: Page) -> None:
    """The consent page: allow what the app asks for."""
    await heading(page, HEADING_CONSENT).wait_for()
    await page.get_by_role("button", name=ALLOW).click()


async def cancel(page: Page, app: str) -> None:
    """On any page of a sign-in before consent: cancel and go back to the app."""
    await page.get_by_role("button", name=CANCEL_TO.format(app=app), exact=True).click()


def app_listed(page: Page, app: str) -> Locator:
    """The app's entry on the grants page, under its host."""
    return page.get_by_role("listitem").filter(has=page.get_by_role("heading", level=2, name=app))


async def ask_to_end_access(page: Page, app: str) -> None:
    """On the grants page: ask to end the app's access; the page asking to confirm."""
    await page.get_by_role("link", name=END_ACCESS_FOR.format(app=app)).click()
    await heading(page, HEADING_END_ACCESS.format(app=app)).wait_for()


async def confirm_end_access(page: Page) -> None:
    await page.get_by_role("button", name=END_ACCESS, exact=True).click()


def passkey_names(page: Page) -> Locator:
    """On the grants page: each passkey's name, the heading of its entry."""
    return page.get_by_role("heading", level=3)


async def remove_passkey(page: Page, name: str) -> None:
    await page.get_by_role("button", name=REMOVE_PASSKEY.format(name=name), exact=True).click()
