"""The demo person's homepage: `rel="me"` email, an h-card, and links to this Gondulf.

Exactly what IndieAuth asks a person to publish (README: "Setting up a person's
domain"): Gondulf reads the address the code goes to and the profile from it,
and the app finds the server through its `indieauth-metadata` link.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

from gondulf.indieauth.endpoints import homepage_links
from gondulf.templating import render
from gondulf.web.routes import advertised_endpoints

log = logging.getLogger("gondulf.demo.homepage")

PHOTO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
    '<circle cx="32" cy="32" r="32" fill="#2a5db0"/>'
    '<text x="32" y="42" font-size="28" text-anchor="middle" fill="#fff">J</text></svg>'
)


@dataclass(frozen=True)
class Person:
    name: str
    host: str  # the domain being proven
    mailbox: str  # the part of the email address before @host

    @property
    def email(self) -> str:
        return f"{self.mailbox}@{self.host}"


def homepage_app(person: Person, url: str, issuer: str) -> web.Application:
    """The site at `url` (the person's profile URL) pointing at the Gondulf at `issuer`."""
    page = render(
        "demo/homepage.html",
        person=person,
        url=url,
        links=homepage_links(issuer, advertised_endpoints(issuer)),
    )

    async def home(request: web.Request) -> web.Response:
        log.info("homepage %s read by %s", url, request.headers.get("User-Agent", "someone"))
        return web.Response(text=page, content_type="text/html")

    async def photo(request: web.Request) -> web.Response:
        return web.Response(text=PHOTO, content_type="image/svg+xml")

    app = web.Application()
    app.router.add_get("/", home)
    app.router.add_get("/photo.svg", photo)
    return app
