"""Fixtures that start real servers on 127.0.0.1 and build settings pointing at them."""

from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme
from aiohttp.test_utils import TestClient, TestServer
from support.dns_server import RunningDns, running_dns, silent_udp_port
from support.signin import World, homepage_html, json_client
from support.smtp_server import RunningSmtp, free_port, running_smtp
from support.web_server import Site, html

from gondulf.config import Settings, load_settings
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.migrations import apply_migrations
from gondulf.web.app import create_app

SECRET = "s" * 40


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    """A server context whose certificate names localhost, 127.0.0.1 and *.test hosts."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(
        "localhost", "127.0.0.1", "jane.test", "*.jane.test", "app.test", "other.test"
    ).configure_cert(context)
    return context


@pytest.fixture(scope="session")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test CA as a PEM file, for subprocesses (SSL_CERT_FILE)."""
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(scope="session")
def dns_server() -> Iterator[RunningDns]:
    with running_dns() as server:
        yield server


@pytest.fixture
def dns(dns_server: RunningDns) -> RunningDns:
    """The DNS server with an empty zone."""
    dns_server.zone.reset()
    return dns_server


@pytest.fixture
def dead_dns_port() -> Iterator[int]:
    with silent_udp_port() as port:
        yield port


@pytest.fixture
def env(tmp_path: Path, dns: RunningDns) -> dict[str, str]:
    """A complete production-like environment: a local DNS server, a database in tmp_path."""
    return {
        "GONDULF_SECRET_KEY": SECRET,
        "GONDULF_BASE_URL": "https://auth.test/",
        "GONDULF_DATABASE_URL": f"sqlite:///{tmp_path / 'gondulf.db'}",
        "GONDULF_SMTP_HOST": "127.0.0.1",
        "GONDULF_SMTP_PORT": "1",
        "GONDULF_SMTP_USE_TLS": "false",
        "GONDULF_DNS_NAMESERVERS": dns.nameserver,
    }


@pytest.fixture
def make_settings(env: dict[str, str]) -> Callable[..., Settings]:
    def build(**changes: str) -> Settings:
        return load_settings({**env, **changes}, env_file=None)

    return build


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "test.db")
    await apply_migrations(database)
    yield database
    await database.close()


@pytest.fixture
async def sites() -> AsyncIterator[Callable[..., Site]]:
    """Make web sites; all are stopped at the end of the test."""
    started: list[Site] = []

    def make(host: str = "127.0.0.1", *, ssl_context: ssl.SSLContext | None = None) -> Site:
        site = Site(host, ssl_context=ssl_context)
        started.append(site)
        return site

    yield make
    for site in started:
        await site.stop()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


GONDULF = shutil.which("gondulf", path=str(Path(sys.executable).parent)) or "gondulf"


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., Awaitable[CliResult]]:
    """Run the installed `gondulf` console script in tmp_path with exactly `env`."""

    async def run(
        *args: str,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 30,
        input: str | None = None,  # what is piped to standard input; none: /dev/null
    ) -> CliResult:
        base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
        base.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"})
        process = await asyncio.create_subprocess_exec(
            GONDULF,
            *args,
            env={**base, **(env or {})},
            cwd=cwd or tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL if input is None else asyncio.subprocess.PIPE,
        )
        sent = None if input is None else input.encode()
        out, err = await asyncio.wait_for(process.communicate(sent), timeout)
        return CliResult(process.returncode or 0, out.decode(), err.decode())

    return run


@pytest.fixture
def smtp() -> Iterator[RunningSmtp]:
    with running_smtp("plain") as server:
        yield server


@dataclass
class Outside:
    """Everything around Gondulf: DNS, SMTP, a set-up person (jane.test) and an app."""

    env: dict[str, str]
    port: int
    dns: RunningDns
    smtp: RunningSmtp
    homepage: Site
    app: Site

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@pytest.fixture
async def outside(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    dns: RunningDns,
    smtp: RunningSmtp,
    sites: Callable[..., Site],
) -> Outside:
    """`@pytest.mark.settings(GONDULF_X="...")` changes Gondulf's settings for one test."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/"
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
    marker = request.node.get_closest_marker("settings")
    env.update(marker.kwargs if marker else {})
    env["GONDULF_BASE_URL"] = env["GONDULF_BASE_URL"].format(
        port=port
    )  # "http://localhost:{port}/"
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    for host in ("jane.test", "app.test", "other.test"):
        dns.zone.add_a(host)
    homepage = sites("jane.test").route("/", html(homepage_html(issuer)))
    await homepage.start()
    app = sites("app.test")
    json_client(app)
    await app.start()
    return Outside(env, port, dns, smtp, homepage, app)


@pytest.fixture
async def world(outside: Outside) -> AsyncIterator[World]:
    """Gondulf in development mode, in this process, in the world `outside` describes."""
    server = TestServer(create_app(load_settings(outside.env, env_file=None)), port=outside.port)
    async with TestClient(server) as client:
        yield World(
            client, outside.issuer, outside.dns, outside.smtp, outside.homepage, outside.app
        )
