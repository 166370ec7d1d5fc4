"""A real browser (Debian's Chromium through Playwright) against a real `gondulf serve`.

Around the server, the same local world as the other tests: a DNS server holding
`_gondulf.jane.test`, an SMTP server the sign-in codes are read from, Jane's homepage
listing two addresses, and an app publishing its client metadata and answering on its
redirect_uri. The browser reaches Gondulf at http://127.0.0.1:PORT (development mode)
and the `.test` hosts through a host-resolver rule mapping them to 127.0.0.1.

Where Chromium, Playwright or axe-core is missing, every test here is skipped with the
reason (`pytest -ra` lists it), never counted as passed; in CI (CI=true), where .ci/run
installs them, they fail instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from conftest import GONDULF, SECRET
from support.dns_server import RunningDns
from support.server_process import running_server
from support.signin import homepage_html, pkce_pair
from support.smtp_server import RunningSmtp, free_port
from support.web_server import Site, html

from e2e.chromium import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, missing_parts

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

HERE = Path(__file__).resolve().parent
# Jane's homepage lists two addresses, so the sign-in asks which one the code goes to.
ADDRESSES = ("jane@jane.test", "work@jane.test")
APP_NAME = "Quill"
# A long client_id without a space in it: the pages must wrap it on a 320 px screen.
APP_PATH = "/apps/a-rather-long-client-identifier-without-any-spaces-to-break-it-up/"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reason = missing_parts()
    if reason is None or os.environ.get("CI") == "true":
        return
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests: {reason}"))


@dataclass
class Stage:
    """Gondulf running as a process, and the world around it."""

    issuer: str
    dns: RunningDns
    smtp: RunningSmtp
    homepage: Site
    app: Site
    callbacks: list[dict[str, str]] = field(default_factory=list)  # queries the app received
    verifier: str = ""

    @property
    def me(self) -> str:
        return self.homepage.url("/")

    @property
    def client_id(self) -> str:
        return self.app.url(APP_PATH)

    @property
    def app_host(self) -> str:
        """How the pages name the app: its verified host."""
        return urlsplit(self.client_id).netloc

    @property
    def redirect_uri(self) -> str:
        return self.app.url(APP_PATH + "callback")

    def authorize_url(self, **changes: str) -> str:
        """The URL an app sends the browser to, with a new PKCE pair."""
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": "st-e2e",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "profile create",
            **changes,
        }
        return f"{self.issuer}authorize?{urlencode(params)}"

    def last_code(self) -> str:
        """The code in the last email the SMTP server received."""
        assert self.smtp.mailbox.messages, "no email was sent"
        subject = str(self.smtp.mailbox.messages[-1][1]["Subject"])
        code = subject.rsplit(" ", 1)[1]
        assert code.isdigit() and len(code) == 6, subject
        return code

    async def redeem(self, code: str) -> dict[str, Any]:
        """What the app does with the code: POST it to the token endpoint."""
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(f"{self.issuer}token", data=data) as response,
        ):
            body: dict[str, Any] = await response.json()
            assert response.status == 200, body
            return body

    async def introspect(self, token: str) -> bool:
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.issuer}introspect",
                data={"token": token},
                headers={"Authorization": f"Bearer {token}"},
            ) as response,
        ):
            return bool((await response.json())["active"])


def app_site(site: Site, callbacks: list[dict[str, str]]) -> None:
    """The app: its client metadata document at APP_PATH and a page on its redirect_uri."""

    async def metadata(request: web.Request) -> web.Response:
        document = {
            "client_id": site.url(APP_PATH),
            "client_name": APP_NAME,
            "client_uri": site.url(APP_PATH),
            "logo_uri": "https://app.test/logo.png",  # never loads: the letter tile shows
            "redirect_uris": [site.url(APP_PATH + "callback")],
        }
        return web.Response(text=json.dumps(document), content_type="application/json")

    async def callback(request: web.Request) -> web.Response:
        callbacks.append(dict(request.query))
        return web.Response(
            text="<!doctype html><html lang=en><title>Quill</title><h1>Back in Quill</h1>",
            content_type="text/html",
        )

    site.route(APP_PATH, metadata)
    site.route(APP_PATH + "callback", callback)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    missing = missing_parts()
    assert missing is None, f"{missing}; .ci/run installs it"
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def sites_e2e() -> AsyncIterator[Callable[[str], Site]]:
    started: list[Site] = []

    def make(host: str) -> Site:
        site = Site(host)
        started.append(site)
        return site

    yield make
    for site in started:
        await site.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def stage(
    tmp_path: Path, dns: RunningDns, smtp: RunningSmtp, sites_e2e: Callable[[str], Site]
) -> AsyncIterator[Stage]:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    for host in ("jane.test", "app.test"):
        dns.zone.add_a(host)
    homepage = sites_e2e("jane.test").route("/", html(homepage_html(issuer, emails=ADDRESSES)))
    await homepage.start()
    callbacks: list[dict[str, str]] = []
    app = sites_e2e("app.test")
    app_site(app, callbacks)
    await app.start()
    env = {
        "GONDULF_SECRET_KEY": SECRET,
        "GONDULF_BASE_URL": issuer,
        "GONDULF_DEBUG": "true",
        "GONDULF_DATABASE_URL": f"sqlite:///{tmp_path / 'gondulf.db'}",
        "GONDULF_SMTP_HOST": "127.0.0.1",
        "GONDULF_SMTP_PORT": str(smtp.port),
        "GONDULF_SMTP_USE_TLS": "false",
        "GONDULF_DNS_NAMESERVERS": dns.nameserver,
    }
    async with running_server(GONDULF, env, tmp_path, port=port):
        yield Stage(issuer, dns, smtp, homepage, app, callbacks)


@pytest_asyncio.fixture(loop_scope="session")
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A fresh browser profile (no cookies) for one test."""
    made = await browser.new_context(viewport={"width": 390, "height": 844})
    made.set_default_timeout(10_000)
    yield made
    await made.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


CALL_FAILED = pytest.StashKey[bool]()


@pytest_asyncio.fixture(loop_scope="session")
async def page(request: pytest.FixtureRequest, context: BrowserContext) -> AsyncIterator[Page]:
    """The test's page; when the test fails, what it showed last is kept beside the
    screenshots as FAILED-TEST.png and FAILED-TEST.html."""
    made = await context.new_page()
    yield made
    if request.node.stash.get(CALL_FAILED, False) and not made.is_closed():
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = "FAILED-" + "".join(c if c.isalnum() else "-" for c in request.node.name)
        await made.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
        (SCREENSHOTS / f"{name}.html").write_text(await made.content())
