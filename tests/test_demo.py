"""`gondulf demo`: the one URL it prints walks a browser through a whole sign-in.

The command runs as a real process; a browser (aiohttp with a cookie jar) opens
the URL, follows every page and reads the code from the demo's terminal. The
demo's parts are then checked one by one in this process.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import os
import re
import signal
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from email.message import EmailMessage
from io import StringIO
from pathlib import Path
from typing import Any

import aiohttp
import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import pytest
from conftest import GONDULF, CliResult
from rich.console import Console
from support.smtp_server import silent_tcp_port
from support.web_server import Site
from support.web_server import html as html_page
from yarl import URL

from gondulf.config import Nameserver
from gondulf.demo import client
from gondulf.demo.app import MAX_PENDING, PENDING_LIFETIME, Pending, PendingSignIns, prefers_json
from gondulf.demo.client import ClientProblem, Server
from gondulf.demo.nameserver import person_zone, start_nameserver
from gondulf.demo.terminal import EmailsToTerminal, announce, emails_shown
from gondulf.demo.world import (
    PERSON,
    Demo,
    listening_socket,
    loopback_listeners,
    run_demo,
    running_demo,
)
from gondulf.services.outside.dns import DnsService, build_resolver
from gondulf.services.outside.fetch import Fetcher, FetchPolicy

Cli = Callable[..., Awaitable[CliResult]]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TIMEOUT = aiohttp.ClientTimeout(total=30)


class Terminal:
    """What a process writes to stdout and stderr, read as it comes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None and process.stderr is not None
        self.out = ""
        self.err = ""
        self.code: int | None = None  # once it exited
        self._changed = asyncio.Event()
        self._readers = [
            asyncio.create_task(self._read(process.stdout, "out")),
            asyncio.create_task(self._read(process.stderr, "err")),
        ]

    async def _read(self, stream: asyncio.StreamReader, name: str) -> None:
        while chunk := await stream.read(4096):
            setattr(self, name, getattr(self, name) + chunk.decode())
            self._changed.set()

    async def wait_for(self, pattern: str, timeout: float = 20) -> str:
        """The first group of `pattern` once it appears on stdout."""
        async with asyncio.timeout(timeout):
            while (match := re.search(pattern, self.out)) is None:
                self._changed.clear()
                await self._changed.wait()
        return match.group(1)

    async def closed(self) -> None:
        await asyncio.gather(*self._readers)


def csrf(page: str) -> str:
    match = CSRF.search(page)
    assert match, page
    return match.group(1)


def action(gondulf: URL, page: str, leaf: str) -> URL:
    """The address of the page's form that ends in `leaf` (`code`, `consent`...)."""
    match = re.search(rf'action="(/authorize/s/[^/"]+/{leaf})"', page)
    assert match, page
    return gondulf.with_path(match.group(1))


async def submit(browser: aiohttp.ClientSession, url: URL, page: str, **fields: str) -> str:
    """Fill in and send the form on a Gondulf page, as a person would."""
    async with browser.post(url, data={"csrf": csrf(page), **fields}) as response:
        return await response.text()


def section(page: str, name: str) -> Any:
    match = re.search(rf'<pre id="{name}">(.*?)</pre>', page, re.S)
    assert match, page
    return json.loads(html.unescape(match.group(1)))


@contextlib.asynccontextmanager
async def demo_process(cwd: Path, env: dict[str, str], *args: str) -> AsyncIterator[Terminal]:
    """`gondulf demo` running; stopped with Ctrl-C (SIGINT) at the end, killed if it hangs."""
    process = await asyncio.create_subprocess_exec(
        GONDULF,
        "demo",
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    terminal = Terminal(process)
    try:
        yield terminal
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
        await asyncio.wait_for(terminal.closed(), 5)
        terminal.code = process.returncode


def plain_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    env.update({"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb", "TMPDIR": str(tmp_path)})
    return env


async def test_the_printed_url_walks_a_whole_sign_in_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = plain_env(scratch)
    # Neither the environment nor .env reaches the demo: were this SMTP server used,
    # the code could not be sent and the sign-in would stop.
    env["GONDULF_SMTP_HOST"] = "smtp.invalid"
    (tmp_path / ".env").write_text("GONDULF_SMTP_HOST=smtp.invalid\n")

    async with (
        demo_process(tmp_path, env) as terminal,
        aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=TIMEOUT) as b,
    ):
        url = await terminal.wait_for(r"Open this in your browser:\s+(\S+)")
        await terminal.wait_for(r"(The sign-in code will appear here)")
        assert re.fullmatch(r"http://localhost:\d+/", url)

        async with b.get(url) as response:
            start = await response.text()
        me = re.search(r'name="me"[^>]*value="([^"]+)"', start).group(1)  # type: ignore[union-attr]
        assert re.fullmatch(r"http://jane\.demo\.test:\d+/", me)

        # The app discovers Gondulf from the homepage and sends the browser there.
        async with b.post(url + "start", data={"me": me}) as response:
            page = await response.text()
            gondulf = response.url.origin()
            authorize = next(r.url for r in response.history if r.url.path == "/authorize")
            assert authorize.query["client_id"] == url
            assert authorize.query["code_challenge_method"] == "S256"
            assert response.url.path.startswith("/authorize/s/"), page
        assert "Demo app" in page and "Send my code to" in page, page

        page = await submit(b, action(gondulf, page, "email"), page, email="0")
        assert "Enter your code" in page, page

        code = await terminal.wait_for(r"Your sign-in code: (\d{6})")
        page = await submit(b, action(gondulf, page, "code"), page, code=code)
        assert "Allow access?" in page, page

        consent = [("csrf", csrf(page)), ("action", "approve")]
        consent += [("scope", "profile"), ("scope", "email")]
        async with b.post(action(gondulf, page, "consent"), data=consent) as response:
            page = await response.text()
            assert str(response.url).startswith(url + "callback?"), page
        assert response.status == 200, page
        assert f"Signed in as <code>{me}</code>" in page

        tokens = section(page, "token-response")
        assert tokens["me"] == me and tokens["token_type"] == "Bearer"
        assert tokens["scope"] == "profile email"
        assert tokens["access_token"].endswith("(43 characters)")  # shortened on the page
        assert tokens["profile"]["name"] == "Jane Demo"
        introspection = section(page, "introspection")
        assert introspection["active"] is True
        assert (introspection["me"], introspection["client_id"]) == (me, url)
        userinfo = section(page, "userinfo")
        assert userinfo == {
            "name": "Jane Demo",
            "url": me,
            "photo": me + "photo.svg",
            "email": "jane@jane.demo.test",
        }

        # The same state cannot be used twice.
        async with b.get(response.url) as again:
            assert again.status == 400
            assert "unknown to the app" in await again.text()

    assert terminal.code == 0, terminal.err
    assert terminal.out.rstrip().endswith("demo stopped")
    assert "Traceback" not in terminal.out + terminal.err
    # The protocol ran over the wire: DNS answers, fetches and the app's calls.
    log = terminal.err
    assert 'DNS _gondulf.jane.demo.test TXT: "gondulf-verify-domain"' in log
    assert "DNS jane.demo.test A: 127.0.0.1" in log
    assert "client metadata read by Gondulf" in log
    assert "homepage " + me + " read by Demo app" in log
    for call in ('"POST /token" 200', '"POST /introspect" 200', '"GET /userinfo" 200'):
        assert call in log
    assert "Content-Type: multipart" not in log  # the email is the box, not a dump
    assert list(scratch.iterdir()) == []  # the database and secret went with it
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env", "tmp"]


async def test_a_taken_port_or_a_wrong_one_fails_in_one_line(cli: Cli) -> None:
    with silent_tcp_port() as port:
        taken = await cli("demo", "--port", str(port))
    assert (taken.code, taken.stdout) == (4, "")
    assert taken.stderr == (
        f"gondulf: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    wrong = await cli("demo", "--port", "65536")
    assert wrong.code == 2 and wrong.stderr.startswith("gondulf: error: invalid value for '--port'")
    assert len(wrong.stderr.splitlines()) == 1


# -- the demo's DNS server --------------------------------------------------------------------


def query(name: str, rdtype: str) -> dns.message.Message:
    return person_zone(person="jane.demo.test", others=("app.demo.test",)).respond(
        dns.message.make_query(name, rdtype)
    )


def test_the_zone_proves_the_person_and_puts_every_host_on_loopback() -> None:
    txt = query("_gondulf.jane.demo.test", "TXT")
    assert txt.flags & dns.flags.AA
    assert [r.to_text() for r in txt.answer[0]] == ['"gondulf-verify-domain"']
    for host in ("jane.demo.test", "App.Demo.Test."):
        assert [r.to_text() for r in query(host, "A").answer[0]] == ["127.0.0.1"]


def test_the_zone_says_no_record_nonexistent_and_not_implemented() -> None:
    no_aaaa = query("jane.demo.test", "AAAA")
    assert (no_aaaa.rcode(), no_aaaa.answer) == (dns.rcode.NOERROR, [])
    assert query("example.com", "A").rcode() == dns.rcode.NXDOMAIN
    update = dns.message.make_query("jane.demo.test", "A")
    update.set_opcode(dns.opcode.UPDATE)
    assert person_zone(person="jane.demo.test").respond(update).rcode() == dns.rcode.NOTIMP
    empty = dns.message.Message()
    assert person_zone(person="jane.demo.test").respond(empty).rcode() == dns.rcode.FORMERR


async def test_gondulf_proves_the_domain_through_the_demo_dns_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await start_nameserver(person_zone(person="jane.demo.test"))
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(b"not dns", ("127.0.0.1", server.port))  # ignored
        caplog.set_level(logging.INFO, "gondulf.demo.dns")
        service = DnsService(build_resolver((Nameserver("127.0.0.1", server.port),), 2))
        assert (await service.verify_domain("jane.demo.test")).verified
        assert await service.addresses("jane.demo.test") == ["127.0.0.1"]
        assert not (await service.verify_domain("example.com")).verified
    finally:
        server.close()
    assert "DNS example.com A" not in caplog.text
    assert "DNS _gondulf.example.com TXT: NXDOMAIN" in caplog.text
    assert "DNS jane.demo.test AAAA: no record of that type" in caplog.text


# -- the app ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "json_wins"),
    [
        ("application/json, text/html;q=0.9, */*;q=0.1", True),  # Gondulf's client fetch
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", False),  # browser
        ("application/*;q=0.5, text/html;q=0.4", True),
        ("*/*", False),
        ("", False),
        ("application/json;q=x, text/html;q=0.1", False),
        ("application/json;charset=utf-8, text/html;level=1;q=0.5", True),
        ("text/html;q=0.2, */*;q=0.9, application/json;q=0.3", True),
    ],
)
def test_the_client_id_answers_json_only_to_who_prefers_it(accept: str, json_wins: bool) -> None:
    assert prefers_json(accept) is json_wins


def pending(browser: str = "browser", started: float = 1000.0) -> Pending:
    server = Server("http://127.0.0.1:1/", "http://127.0.0.1:1/a", "http://127.0.0.1:1/t")
    return Pending(browser, "http://jane.demo.test/", server, "v" * 43, started)


def test_a_pending_sign_in_is_used_once_by_its_browser_within_its_lifetime() -> None:
    signins = PendingSignIns()
    signins.add("s1", pending())
    assert signins.take("s1", "another browser", 1001) is None
    assert signins.take("s1", "browser", 1001) == pending()
    assert signins.take("s1", "browser", 1001) is None
    signins.add("s2", pending())
    assert signins.take("s2", "browser", 1000 + PENDING_LIFETIME + 1) is None
    signins.add("old", pending(started=0))
    for n in range(MAX_PENDING + 5):
        signins.add(f"n{n}", pending(started=PENDING_LIFETIME + 1))
    assert len(signins.by_state) == MAX_PENDING and "old" not in signins.by_state


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """The whole demo in this process, Gondulf on a free port."""
    with listening_socket() as sock:
        async with running_demo(sock, tmp_path) as started:
            yield started


@pytest.fixture
async def browser() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(
        cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=TIMEOUT
    ) as session:
        yield session


async def started_state(demo: Demo, browser: aiohttp.ClientSession) -> str:
    async with browser.post(
        demo.start_url + "start", data={"me": demo.me}, allow_redirects=False
    ) as response:
        assert response.status == 303
        return str(URL(response.headers["Location"]).query["state"])


async def test_the_app_serves_its_client_metadata_at_its_client_id(
    demo: Demo, browser: aiohttp.ClientSession
) -> None:
    async with browser.get(demo.start_url, headers={"Accept": "application/json"}) as response:
        assert await response.json() == {
            "client_id": demo.start_url,
            "client_name": "Demo app",
            "client_uri": demo.start_url,
            "redirect_uris": [demo.start_url + "callback"],
        }
    homepage = URL(demo.me).with_host("127.0.0.1")
    async with browser.get(homepage / "photo.svg") as response:
        assert response.content_type == "image/svg+xml"


@pytest.mark.parametrize(
    ("me", "status", "says"),
    [
        ("ftp://jane.demo.test/", 400, "That is not a website address"),
        ("http://nobody.demo.test/", 502, "The app cannot read http://nobody.demo.test/"),
    ],
)
async def test_the_app_says_why_it_cannot_start(
    demo: Demo, browser: aiohttp.ClientSession, me: str, status: int, says: str
) -> None:
    async with browser.post(demo.start_url + "start", data={"me": me}) as response:
        assert response.status == status
        assert says in await response.text()


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ({"error": "access_denied", "error_description": "the person said no"}, "access_denied"),
        ({"code": "made-up", "iss": "http://127.0.0.1:1/"}, "names the issuer"),
        ({}, "neither a code nor an error"),
        ({"code": "made-up"}, "refused the code: invalid_grant"),
    ],
)
async def test_the_app_uses_only_a_good_answer_from_its_own_server(
    demo: Demo, browser: aiohttp.ClientSession, answer: dict[str, str], says: str
) -> None:
    state = await started_state(demo, browser)
    query = {"state": state, "iss": demo.issuer, **answer}
    async with browser.get(demo.start_url + "callback", params=query) as response:
        assert response.status == 400
        assert says in html.unescape(await response.text())


async def test_a_callback_from_another_browser_is_refused(
    demo: Demo, browser: aiohttp.ClientSession
) -> None:
    state = await started_state(demo, browser)
    async with (
        aiohttp.ClientSession(timeout=TIMEOUT) as stranger,
        stranger.get(demo.start_url + "callback", params={"state": state, "code": "x"}) as r,
    ):
        assert r.status == 400 and "unknown to the app" in await r.text()


def test_the_app_also_listens_on_ipv6_loopback_unless_the_port_is_taken_there() -> None:
    listeners = loopback_listeners()
    try:
        if len(listeners) == 1:
            pytest.skip("no IPv6 loopback on this machine")
        assert [sock.family for sock in listeners] == [socket.AF_INET, socket.AF_INET6]
        port = listeners[0].getsockname()[1]
        assert {sock.getsockname()[1] for sock in listeners} == {port}
        listeners[0].close()
        alone = loopback_listeners(port)  # ::1 still holds the port
        assert [sock.family for sock in alone] == [socket.AF_INET]
        alone[0].close()
    finally:
        for sock in listeners:
            sock.close()


async def test_ctrl_c_while_starting_stops_without_announcing_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    said: list[object] = []
    with listening_socket() as sock:
        running = asyncio.create_task(run_demo(sock, said.append, lambda: said.append("stopped")))
        await asyncio.sleep(0)  # it has taken over SIGINT
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.wait_for(running, 20)
    assert said == ["stopped"]
    assert list(tmp_path.iterdir()) == []


# -- the app's IndieAuth client -----------------------------------------------------------------


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    resolver = build_resolver((Nameserver("127.0.0.1", 9),), 1)
    opened = await Fetcher.open(DnsService(resolver), FetchPolicy.development())
    yield opened
    await opened.close()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    started = Site()
    yield started
    await started.stop()


def test_server_metadata_must_name_its_issuer_and_endpoints() -> None:
    url = "http://a.test/.well-known/oauth-authorization-server"
    good = {"issuer": "http://a.test/", "authorization_endpoint": "x", "token_endpoint": "y"}
    assert Server.from_metadata(good, url).token_endpoint == "y"
    for document, says in [
        ([], "not a JSON object"),
        ({**good, "userinfo_endpoint": 5}, "not a URL"),
        ({**good, "token_endpoint": None}, "lacks"),
        ({**good, "issuer": "http://b.test/"}, "does not match"),
    ]:
        with pytest.raises(ClientProblem, match=says):
            Server.from_metadata(document, url)


async def test_discovery_needs_a_metadata_link_to_a_json_document(
    fetcher: Fetcher, site: Site
) -> None:
    site.route("/", html_page('<link rel="indieauth-metadata" href="/metadata">'))
    site.route("/none", html_page("<p>no links</p>"))
    site.route("/metadata", html_page("<p>not JSON</p>"))
    site.route("/gone", html_page('<link rel="indieauth-metadata" href="/missing">'))
    await site.start()
    for path, says in [
        ("/none", "has no <link"),
        ("/", "is not JSON"),
        ("/gone", "cannot read " + site.url("/missing")),
    ]:
        with pytest.raises(ClientProblem, match=re.escape(says)):
            await client.discover(fetcher, site.url(path))


async def test_calls_fail_as_problems_when_unreachable_or_not_json(site: Site) -> None:
    site.route("/page", html_page("<p>hello</p>"))
    await site.start()
    with silent_tcp_port() as closed_port:
        pass
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ClientProblem, match="cannot reach"):
            await client.call(session, "GET", f"http://127.0.0.1:{closed_port}/")
        with pytest.raises(ClientProblem, match="without a JSON object"):
            await client.call(session, "GET", site.url("/page"))
        assert await client.with_token(session, "GET", None, "token") is None


async def test_a_returned_me_other_than_the_entered_one_must_use_the_same_server(
    demo: Demo, fetcher: Fetcher, site: Site
) -> None:
    metadata = f"{demo.issuer}.well-known/oauth-authorization-server"
    site.route("/", html_page(f'<link rel="indieauth-metadata" href="{metadata}">'))
    await site.start()
    returned = site.url("/")
    server = await client.discover(fetcher, returned)
    assert server.issuer == demo.issuer
    await client.confirm_me(fetcher, returned, returned, server)
    await client.confirm_me(fetcher, returned, "http://entered.test/", server)
    elsewhere = Server("http://elsewhere.test/", "a", "t")
    with pytest.raises(ClientProblem, match="does not use http://elsewhere.test/"):
        await client.confirm_me(fetcher, returned, "http://entered.test/", elsewhere)


# -- the terminal --------------------------------------------------------------------------------


def test_the_terminal_shows_one_url_and_each_email_as_a_box() -> None:
    screen = StringIO()
    console = Console(file=screen, width=100, color_system=None)
    announce(console, Demo("http://localhost:1/", "http://jane.demo.test:2/", "x", PERSON.name))
    message = EmailMessage()
    message["To"] = "jane@jane.demo.test"
    message["Subject"] = "Your sign-in code: 123456"
    logger = logging.getLogger("gondulf.email")
    with emails_shown(console):
        assert logger.propagate is False
        logger.warning("not an email")
        logger.warning("an email", extra={"email_message": message})
    assert logger.propagate is True and not any(
        isinstance(h, EmailsToTerminal) for h in logger.handlers
    )
    shown = screen.getvalue()
    assert re.findall(r"https?://\S+", shown) == ["http://localhost:1/"]
    assert "Email to jane@jane.demo.test" in shown and "Your sign-in code: 123456" in shown
    assert "not an email" not in shown
