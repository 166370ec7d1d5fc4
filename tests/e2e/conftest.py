"""A real browser (Debian's Chromium through Playwright) against a real `gondulf serve`.

Around the server, the same local world as the other tests: a DNS server holding
`_gondulf.jane.test`, an SMTP server the sign-in codes are read from, Jane's homepage
listing two addresses, and an app publishing its client metadata and answering on its
redirect_uri. The browser reaches Gondulf at http://127.0.0.1:PORT (development mode)
and the `.test` hosts through a host-resolver rule mapping them to 127.0.0.1.

A module whose tests can share one server (they change nothing but Gondulf's own
database) defines its own module-scoped `stage` with `shared_stage`: one SMTP server
for the module, the abuse limits raised so the tests' sign-ins do not add up to one,
and optionally an issuer on `localhost`, which passkeys need (a browser refuses them on
an IP address, and allows plain http only on localhost).

Where Chromium, Playwright or axe-core is missing, every test here is skipped with the
reason (`pytest -ra` lists it), never counted as passed; in CI (CI=true), where .ci/run
installs them, they fail instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from conftest import GONDULF, SECRET
from support.dns_server import RunningDns
from support.server_process import running_server
from support.signin import homepage_html, pkce_pair
from support.smtp_server import RunningSmtp, free_port, running_smtp
from support.web_server import Site, html

from e2e.chromium import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, missing_parts

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page

HERE = Path(__file__).resolve().parent
# Jane's homepage lists two addresses, so the sign-in asks which one the code goes to.
ADDRESSES = ("jane@jane.test", "work@jane.test")
APP_NAME = "Quill"
OTHER_APP_NAME = "Other"  # a second app, on other-app.test
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
    folder: Path  # the server's working folder, with its database
    dns: RunningDns
    smtp: RunningSmtp
    homepage: Site
    app: Site
    other_app: Site
    callbacks: list[dict[str, str]] = field(default_factory=list)  # queries the apps received
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

    def authorize_url(self, *, app: Site | None = None, **changes: str) -> str:
        """The URL an app (by default `self.app`) sends the browser to, with a new PKCE pair."""
        app = app or self.app
        self.verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": app.url(APP_PATH),
            "redirect_uri": app.url(APP_PATH + "callback"),
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

    def emails_sent(self) -> int:
        return len(self.smtp.mailbox.messages)

    def landed(self, url: str, *, app: Site | None = None) -> dict[str, str]:
        """The query the browser brought back to the app's redirect_uri."""
        app = app or self.app
        assert url.startswith(app.url(APP_PATH + "callback") + "?"), url
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert query["iss"] == self.issuer, query
        return query

    async def redeem(
        self, code: str, *, app: Site | None = None, verifier: str | None = None
    ) -> dict[str, Any]:
        """What the app (by default `self.app`) does with the code: POST it to the token
        endpoint, with the verifier of the last authorize_url unless given."""
        app = app or self.app
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": app.url(APP_PATH),
            "redirect_uri": app.url(APP_PATH + "callback"),
            "code_verifier": verifier or self.verifier,
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


def app_site(site: Site, callbacks: list[dict[str, str]], name: str = APP_NAME) -> None:
    """An app: its client metadata document at APP_PATH and a page on its redirect_uri."""

    async def metadata(request: web.Request) -> web.Response:
        document = {
            "client_id": site.url(APP_PATH),
            "client_name": name,
            "client_uri": site.url(APP_PATH),
            "logo_uri": "https://app.test/logo.png",  # never loads: the letter tile shows
            "redirect_uris": [site.url(APP_PATH + "callback")],
        }
        return web.Response(text=json.dumps(document), content_type="application/json")

    async def callback(request: web.Request) -> web.Response:
        callbacks.append(dict(request.query))
        return web.Response(
            text=f"<!doctype html><html lang=en><title>{name}</title><h1>Back in {name}</h1>",
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


@asynccontextmanager
async def staging(
    folder: Path,
    dns: RunningDns,
    smtp: RunningSmtp,
    *,
    host: str = "127.0.0.1",
    emails: tuple[str, ...] = ADDRESSES,
    settings: dict[str, str] | None = None,
) -> AsyncIterator[Stage]:
    """Gondulf at http://HOST:PORT/ with its database in `folder`, Jane's homepage listing
    `emails`, and two apps; `settings` are more GONDULF_* variables."""
    port = free_port()
    issuer = f"http://{host}:{port}/"
    zone = dns.zone
    if "_gondulf.jane.test" not in zone.records:
        zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    for name in ("jane.test", "app.test", "other-app.test"):
        if name not in zone.records:
            zone.add_a(name)
    callbacks: list[dict[str, str]] = []
    homepage = Site("jane.test").route("/", html(homepage_html(issuer, emails=emails)))
    app, other_app = Site("app.test"), Site("other-app.test")
    app_site(app, callbacks)
    app_site(other_app, callbacks, OTHER_APP_NAME)
    try:
        for site in (homepage, app, other_app):
            await site.start()
        env = {
            "GONDULF_SECRET_KEY": SECRET,
            "GONDULF_BASE_URL": issuer,
            "GONDULF_DEBUG": "true",
            "GONDULF_DATABASE_URL": f"sqlite:///{folder / 'gondulf.db'}",
            "GONDULF_SMTP_HOST": "127.0.0.1",
            "GONDULF_SMTP_PORT": str(smtp.port),
            "GONDULF_SMTP_USE_TLS": "false",
            "GONDULF_DNS_NAMESERVERS": dns.nameserver,
            **(settings or {}),
        }
        async with running_server(GONDULF, env, folder, port=port):
            yield Stage(issuer, folder, dns, smtp, homepage, app, other_app, callbacks)
    finally:
        for site in (homepage, app, other_app):
            await site.stop()


# A shared server's tests are many sign-ins from one address: limits that the tests of
# one module never reach (codes per sign-in stay as they are).
SHARED_LIMITS = {
    "GONDULF_LIMIT_SIGNINS_PER_IP": "10000",
    "GONDULF_LIMIT_CODES_PER_IP": "1000",
    "GONDULF_LIMIT_CODES_PER_ADDRESS": "5000",
    "GONDULF_LIMIT_CODES_PER_DOMAIN": "5000",
    "GONDULF_LIMIT_WRONG_CODES_PER_IP": "1000",
}


@asynccontextmanager
async def shared_stage(
    folder: Path,
    dns: RunningDns,
    *,
    host: str = "127.0.0.1",
    emails: tuple[str, ...] = ADDRESSES,
    settings: dict[str, str] | None = None,
) -> AsyncIterator[Stage]:
    """A stage for every test of a module, with its own SMTP server.

    `dns` is the session's DNS server (`dns_server`): its zone is emptied here and set up
    for the module, so the module's tests must not use the `dns` fixture, which empties it.
    """
    dns.zone.reset()
    settings = {**SHARED_LIMITS, **(settings or {})}
    with running_smtp("plain") as smtp:
        async with staging(folder, dns, smtp, host=host, emails=emails, settings=settings) as made:
            yield made


@pytest_asyncio.fixture(loop_scope="session")
async def stage(tmp_path: Path, dns: RunningDns, smtp: RunningSmtp) -> AsyncIterator[Stage]:
    """A stage of the test's own (for tests that break the world around Gondulf)."""
    async with staging(tmp_path, dns, smtp) as made:
        yield made


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
