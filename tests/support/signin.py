"""A whole sign-in world on 127.0.0.1: DNS, SMTP, a person's homepage, apps, and Gondulf."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import ClientResponse, ClientSession, CookieJar, TCPConnector, web
from aiohttp.test_utils import TestClient
from yarl import URL

from support.dns_server import RunningDns
from support.smtp_server import RunningSmtp
from support.web_server import Site

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
ACTION = re.compile(r'action="(/authorize/s/[^/"]+/[a-z]+)"')
SIGNIN_PAGES = "/authorize/s/"
Client = TestClient[web.Request, web.Application]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def homepage_html(
    issuer: str, emails: tuple[str, ...] = ("jane@jane.test",), name: str = "Jane Doe"
) -> str:
    links = "".join(f'<link rel="me" href="mailto:{email}">' for email in emails)
    return (
        f"<html><head>{links}"
        f'<link rel="indieauth-metadata" href="{issuer}.well-known/oauth-authorization-server">'
        f'<link rel="authorization_endpoint" href="{issuer}authorize">'
        f'<link rel="token_endpoint" href="{issuer}token"></head>'
        f'<body><div class="h-card"><a class="p-name u-url" href="/">{name}</a>'
        f'<img class="u-photo" src="/photo.jpg"></div></body></html>'
    )


@dataclass
class World:
    gondulf: Client | RemoteGondulf
    issuer: str
    dns: RunningDns
    smtp: RunningSmtp
    homepage: Site
    app: Site
    pages: dict[str, str] = field(default_factory=dict)

    @property
    def me(self) -> str:
        return self.homepage.url("/")

    @property
    def client_id(self) -> str:
        return self.app.url("/")

    @property
    def redirect_uri(self) -> str:
        return self.app.url("/callback")

    def session_id(self) -> str:
        """The sign-in cookie's value: the session id only the browser holds."""
        return next(c.value for c in self.gondulf.session.cookie_jar if c.key == "gondulf_signin")

    def last_code(self) -> str:
        assert self.smtp.mailbox.messages, "no email was sent"
        subject = str(self.smtp.mailbox.messages[-1][1]["Subject"])
        return subject.rsplit(" ", 1)[1]

    def authorize_params(self, **changes: str | None) -> dict[str, str]:
        verifier, challenge = pkce_pair()
        self.verifier = verifier
        params: dict[str, str | None] = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "state": "st-123",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "profile create",
            "me": self.me,
        }
        params.update(changes)
        return {k: v for k, v in params.items() if v is not None}

    async def get_authorize(self, **changes: str | None) -> ClientResponse:
        """GET /authorize as a browser does: on to the sign-in's page when it redirects there."""
        self.params = self.authorize_params(**changes)
        response = await self.gondulf.get("/authorize", params=self.params, allow_redirects=False)
        return await self.follow(response)

    async def follow(self, response: ClientResponse) -> ClientResponse:
        """A redirect to a sign-in page followed, as a browser does (others are kept)."""
        location = response.headers.get("Location", "")
        if response.status == 303 and location.startswith(SIGNIN_PAGES):
            self.step_url = location
            return await self.gondulf.get(location, allow_redirects=False)
        return response

    async def post(self, path: str, page: str, **data: str | list[str]) -> ClientResponse:
        """Submit the form of `page` whose address ends like `path` (`/authorize/code`),
        following the redirect to the sign-in's page."""
        response = await self.post_form(path, page, **data)
        return await self.follow(response)

    async def post_form(self, path: str, page: str, **data: str | list[str]) -> ClientResponse:
        """Submit the form of `page` whose address ends like `path`; the answer as it is."""
        match = CSRF.search(page)
        assert match, f"no CSRF token on the page:\n{page}"
        form: list[tuple[str, str]] = [("csrf", match.group(1))]
        for key, value in data.items():
            form += [(key, v) for v in value] if isinstance(value, list) else [(key, value)]
        url = action(page, path)
        if url == path and path.startswith("/authorize/") and hasattr(self, "step_url"):
            url = self.step_url + path.rsplit("/", 1)[1]  # a form this page does not show
        return await self.gondulf.post(url, data=form, allow_redirects=False)

    async def send_code(self, page: str, index: int = 0) -> str:
        """Press "send my code" on the page; returns the code page."""
        assert '/email"' in page, page
        response = await self.post("/authorize/email", page, email=str(index))
        text = await response.text()
        assert response.status == 200 and "Enter your code" in text, text
        return text

    async def code_page(self, **changes: str | None) -> str:
        """Start a sign-in (with the `me` hint) and have the code sent; the code page."""
        response = await self.get_authorize(**changes)
        page = await response.text()
        assert response.status == 200, page
        if "Your website address" in page:
            response = await self.post("/authorize/website", page, me=self.me)
            page = await response.text()
        return await self.send_code(page)

    async def sign_in(
        self, *, scopes: list[str] | None = None, **changes: str | None
    ) -> dict[str, str]:
        """The whole browser side; returns the query of the redirect back to the app."""
        page = await self.code_page(**changes)
        response = await self.post("/authorize/code", page, code=self.last_code())
        page = await response.text()
        assert response.status == 200 and "Allow access?" in page, page
        requested = self.params.get("scope", "").split()
        response = await self.post(
            "/authorize/consent",
            page,
            action="approve",
            scope=requested if scopes is None else scopes,
        )
        assert response.status == 302, await response.text()
        return query_of(response.headers["Location"])

    async def redeem(self, path: str, code: str, /, **changes: str | None) -> ClientResponse:
        data: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_verifier": self.verifier,
        }
        data.update(changes)
        return await self.gondulf.post(path, data={k: v for k, v in data.items() if v is not None})


def action(page: str, path: str) -> str:
    """The address of the form on `page` for `path`: `/authorize/code` finds that
    sign-in's `/authorize/s/HANDLE/code`; any other path is used as it is."""
    if not path.startswith("/authorize/"):
        return path
    leaf = path.rsplit("/", 1)[1]
    for found in ACTION.findall(page):
        if found.rsplit("/", 1)[1] == leaf:
            return str(found)
    return path


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def json_client(
    site: Site,
    *,
    name: str = "Quill",
    redirect_uris: list[str] | None = None,
    cache: str | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    async def handler(request: web.Request) -> web.Response:
        document = {
            "client_id": site.url("/"),
            "client_name": name,
            "client_uri": site.url("/"),
            "logo_uri": "https://app.test/logo.png",
            "redirect_uris": redirect_uris or [site.url("/callback")],
            **(extra or {}),
        }
        headers = {"Cache-Control": cache} if cache else None
        return web.Response(
            text=json.dumps(document), content_type="application/json", headers=headers
        )

    site.route("/", handler)


class RemoteGondulf:
    """A browser for a Gondulf in another process, shaped like aiohttp's TestClient."""

    def __init__(self, base_url: str, *, new_connection_each_time: bool = False) -> None:
        self.session = ClientSession(
            base_url=base_url,
            cookie_jar=CookieJar(unsafe=True),
            connector=TCPConnector(force_close=new_connection_each_time),
        )

    async def get(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.session.get(path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> ClientResponse:
        return await self.session.post(path, **kwargs)

    def make_url(self, path: str) -> URL:
        return URL(str(self.session._base_url)).join(URL(path))

    async def close(self) -> None:
        await self.session.close()
