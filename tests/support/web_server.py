"""Web servers on 127.0.0.1 (aiohttp) standing in for homepages and client sites."""

from __future__ import annotations

import ssl
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def html(body: str, *, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=body, status=status, content_type="text/html", headers=headers)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, headers={"Location": location})

    return handler


class Site:
    """A running site; add routes, then `await start()`; `url(path)` addresses it."""

    def __init__(
        self, host: str = "127.0.0.1", *, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.app = web.Application()
        self.host = host  # the name URLs use; the socket is always on 127.0.0.1
        self.ssl_context = ssl_context
        self.port = 0
        self.hits: list[str] = []
        self._runner: web.AppRunner | None = None

    def route(self, path: str, handler: Handler) -> Site:
        async def counted(request: web.Request) -> web.StreamResponse:
            self.hits.append(request.path_qs)
            return await handler(request)

        self.app.router.add_get(path, counted)
        return self

    async def start(self) -> Site:
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.ssl_context)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/") -> str:
        scheme = "https" if self.ssl_context else "http"
        return f"{scheme}://{self.host}:{self.port}{path}"
