"""Gondulf and its demo world, started together on loopback and stopped together.

Gondulf runs in development mode with its settings made here, never read from
the environment or `.env` (a configured SMTP server must not receive the demo's
emails), its database in a folder the caller provides, and its resolver
pointed at the demo's DNS server. Beside it:

- the person: `http://jane.demo.test:PORT/`, whose `_gondulf` TXT record and
  address only the demo's DNS server knows, so only Gondulf and the app, which
  ask that server, can reach her homepage; the browser never needs to;
- the app: `http://localhost:PORT/`, which browsers reach and which Gondulf
  fetches (its resolver takes `localhost` as loopback), so its client metadata
  is really fetched and its redirect_uri really checked.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, ExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from gondulf import __version__
from gondulf.config import Settings, load_settings
from gondulf.demo.app import AppIdentity, DemoApp
from gondulf.demo.homepage import Person, homepage_app
from gondulf.demo.nameserver import LOOPBACK, person_zone, start_nameserver
from gondulf.services.outside.dns import DnsService, build_resolver
from gondulf.services.outside.fetch import Fetcher, FetchPolicy, GuardedResolver
from gondulf.web.access_log import AccessLogger
from gondulf.web.app import create_app

PERSON = Person(name="Jane Demo", host="jane.demo.test", mailbox="jane")
APP_NAME = "Demo app"
APP_HOST = "localhost"
SHUTDOWN_TIMEOUT = 2.0
CLIENT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Demo:
    start_url: str  # the one URL to open: the app's start page
    me: str
    issuer: str
    person_name: str


def listening_socket(port: int = 0) -> socket.socket:
    """A TCP socket listening on 127.0.0.1 (`port` 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, port))
    sock.listen(128)
    return sock


def loopback_listeners(port: int = 0) -> list[socket.socket]:
    """`port` (0: a free one) on 127.0.0.1, and the same port on ::1 where there is IPv6
    and it is free there too: browsers may look for `localhost` on ::1 first."""
    listeners = [listening_socket(port)]
    try:
        with ExitStack() as unless_listening:
            sock = unless_listening.enter_context(socket.socket(socket.AF_INET6))
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(("::1", listeners[0].getsockname()[1]))
            sock.listen(128)
            unless_listening.pop_all()
        listeners.append(sock)
    except OSError:
        pass
    return listeners


def demo_settings(port: int, folder: Path, nameserver: str) -> Settings:
    """`serve --dev` settings, with the database in `folder` and the demo's DNS server."""
    return load_settings(
        {},
        env_file=None,
        dev=True,
        overrides={
            "GONDULF_HOST": LOOPBACK,
            "GONDULF_PORT": str(port),
            "GONDULF_DATABASE_URL": f"sqlite:///{folder.absolute() / 'gondulf.db'}",
            "GONDULF_DNS_NAMESERVERS": nameserver,
        },
    )


async def _serve(
    stack: AsyncExitStack, app: web.Application, *sockets: socket.socket, **options: Any
) -> None:
    runner = web.AppRunner(app, shutdown_timeout=SHUTDOWN_TIMEOUT, **options)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    for sock in sockets:
        await web.SockSite(runner, sock).start()


@asynccontextmanager
async def running_demo(gondulf_socket: socket.socket, folder: Path) -> AsyncIterator[Demo]:
    """Everything running, Gondulf on `gondulf_socket` with its database in `folder`."""
    async with AsyncExitStack() as stack:
        homepage_socket = stack.enter_context(listening_socket())
        app_sockets = [stack.enter_context(sock) for sock in loopback_listeners()]
        me = f"http://{PERSON.host}:{homepage_socket.getsockname()[1]}/"
        identity = AppIdentity(
            url=f"http://{APP_HOST}:{app_sockets[0].getsockname()[1]}/", name=APP_NAME, me=me
        )

        nameserver = await start_nameserver(person_zone(person=PERSON.host))
        stack.callback(nameserver.close)
        settings = demo_settings(gondulf_socket.getsockname()[1], folder, nameserver.address)
        await _serve(stack, homepage_app(PERSON, me, settings.issuer), homepage_socket)
        await _serve(
            stack,
            create_app(settings),
            gondulf_socket,
            access_log_class=AccessLogger,
            keepalive_timeout=settings.request_timeout,
        )

        # The app resolves names as Gondulf does: through the demo's DNS server.
        dns_service = DnsService(build_resolver(settings.dns_nameservers, settings.dns_timeout))
        policy = FetchPolicy.development()
        fetcher = await Fetcher.open(
            dns_service, policy, user_agent=f"{APP_NAME} (gondulf demo {__version__})"
        )
        stack.push_async_callback(fetcher.close)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                resolver=GuardedResolver(dns_service, policy), use_dns_cache=False
            ),
            timeout=aiohttp.ClientTimeout(total=CLIENT_TIMEOUT),
            trust_env=False,
        )
        stack.push_async_callback(session.close)
        await _serve(stack, DemoApp(identity, fetcher, session).application(), *app_sockets)
        yield Demo(start_url=identity.url, me=me, issuer=settings.issuer, person_name=PERSON.name)


async def run_demo(
    gondulf_socket: socket.socket,
    announce: Callable[[Demo], None],
    stopped: Callable[[], None],
) -> None:
    """Run until SIGINT or SIGTERM, with the database in a folder removed at the end;
    `announce` once everything runs, `stopped` once everything is closed and removed."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    try:
        with tempfile.TemporaryDirectory(prefix="gondulf-demo-") as folder:
            async with running_demo(gondulf_socket, Path(folder)) as demo:
                if not stop.is_set():  # not stopped while starting
                    announce(demo)
                    await stop.wait()
    finally:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signal_number)
    stopped()
