"""The outside world of a benchmark, on loopback: DNS, SMTP, people's homepages, an app.

The same real servers the tests use (tests/support). Person n's homepage is
`http://pN.bench.test:PORT/`, listing `person@pN.bench.test`, so concurrent
sign-ins each find their own code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import secrets
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.dns_server import RunningDns, running_dns
from support.signin import json_client
from support.smtp_server import RunningSmtp, running_smtp
from support.web_server import Site

PEOPLE = 2000
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SECRET = "b" * 48


@dataclass
class World:
    dns: RunningDns
    smtp: RunningSmtp
    homepages: Site
    app: Site

    def me(self, n: int) -> str:
        return f"http://p{n}.bench.test:{self.homepages.port}/"

    @property
    def client_id(self) -> str:
        return self.app.url("/")

    def env(self, port: int, database: Path) -> dict[str, str]:
        """A development-mode Gondulf (the homepages are http) with limits out of the way."""
        return {
            "GONDULF_SECRET_KEY": SECRET,
            "GONDULF_BASE_URL": f"http://127.0.0.1:{port}/",
            "GONDULF_DEBUG": "true",
            "GONDULF_DATABASE_URL": f"sqlite:///{database}",
            "GONDULF_SMTP_HOST": "127.0.0.1",
            "GONDULF_SMTP_PORT": str(self.smtp.port),
            "GONDULF_SMTP_USE_TLS": "false",
            "GONDULF_DNS_NAMESERVERS": self.dns.nameserver,
            "GONDULF_LOG_LEVEL": "INFO",
            "GONDULF_LIMIT_SIGNINS_PER_IP": "1000000",
            "GONDULF_LIMIT_CODES_PER_IP": "999999",
            "GONDULF_LIMIT_CODES_PER_ADDRESS": "1000000",
            "GONDULF_LIMIT_CODES_PER_DOMAIN": "1000000",
            "GONDULF_LIMIT_FAILED_API_PER_IP": "1000000",
            # each simulated person is a client address of their own, behind a local proxy
            "GONDULF_TRUSTED_PROXIES": "127.0.0.1",
        }

    def code_for(self, n: int) -> str | None:
        recipient = f"person@p{n}.bench.test"
        for recipients, message in reversed(self.smtp.mailbox.messages):
            if recipients == [recipient]:
                return str(message["Subject"]).rsplit(" ", 1)[1]
        return None


@contextmanager
def outside() -> Iterator[tuple[RunningDns, RunningSmtp]]:
    with ExitStack() as stack:
        dns = stack.enter_context(running_dns())
        smtp = stack.enter_context(running_smtp("plain"))
        yield dns, smtp


async def open_world(dns: RunningDns, smtp: RunningSmtp) -> World:
    async def homepage(request: web.Request) -> web.Response:
        host = request.host.split(":")[0]
        return web.Response(
            content_type="text/html",
            text=(
                f'<link rel="me" href="mailto:person@{host}">'
                f'<div class="h-card"><a class="p-name u-url" href="/">{host}</a></div>'
            ),
        )

    for n in range(PEOPLE):
        dns.zone.add_txt(f"_gondulf.p{n}.bench.test", "gondulf-verify-domain")
        dns.zone.add_a(f"p{n}.bench.test")
    dns.zone.add_a("app.bench.test")
    homepages = await Site("p0.bench.test").route("/", homepage).start()
    app = Site("app.bench.test")
    json_client(app, cache="public, max-age=86400")
    await app.start()
    return World(dns, smtp, homepages, app)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _csrf(page: str) -> str:
    match = CSRF.search(page)
    if match is None:
        raise RuntimeError(f"no form on the page: {page[:300]}")
    return match.group(1)


async def sign_in(world: World, base: str, n: int) -> dict[str, str]:
    """One whole sign-in by a fresh browser, ending with the token response."""
    verifier, challenge = pkce()
    redirect_uri = world.app.url("/callback")
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True),
        headers={"X-Forwarded-For": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"},
    ) as browser:
        params = {
            "response_type": "code",
            "client_id": world.client_id,
            "redirect_uri": redirect_uri,
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "profile create",
            "me": world.me(n),
        }
        async with browser.get(base + "authorize", params=params) as response:
            page = await response.text()
        async with browser.post(
            base + "authorize/email", data={"csrf": _csrf(page), "email": "0"}
        ) as response:
            page = await response.text()
        code = None
        for _ in range(200):
            code = world.code_for(n)
            if code:
                break
            await asyncio.sleep(0.005)
        async with browser.post(
            base + "authorize/code", data={"csrf": _csrf(page), "code": code or ""}
        ) as response:
            page = await response.text()
        async with browser.post(
            base + "authorize/consent",
            allow_redirects=False,
            data=[
                ("csrf", _csrf(page)),
                ("action", "approve"),
                ("scope", "profile"),
                ("scope", "create"),
            ],
        ) as response:
            location = response.headers["Location"]
        authorization_code = re.search(r"[?&]code=([^&]+)", location).group(1)  # type: ignore[union-attr]
        async with browser.post(
            base + "token",
            data={
                "grant_type": "authorization_code",
                "code": authorization_code,
                "client_id": world.client_id,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            },
        ) as response:
            body: dict[str, str] = await response.json()
    if "access_token" not in body:
        raise RuntimeError(f"sign-in {n} failed: {body}")
    return body


async def timed_sign_ins(
    world: World, base: str, seconds: float, start: int, concurrency: int = 4
) -> list[float]:
    """Whole sign-ins, `concurrency` at a time, for `seconds`: each one's duration."""
    durations: list[float] = []
    deadline = time.perf_counter() + seconds
    counter = iter(range(start, start + 10**6))

    async def browser() -> None:
        while time.perf_counter() < deadline:
            n = next(counter) % PEOPLE
            started = time.perf_counter()
            await sign_in(world, base, n)
            durations.append(time.perf_counter() - started)

    await asyncio.gather(*(browser() for _ in range(concurrency)))
    return durations
