"""The deploy kit (deploy/), checked by the real tools: systemd-analyze, caddy, nginx.

The proxies then run on loopback in front of a real `gondulf serve` in production mode,
each request reaching them the way a browser's would. Each test is skipped, with the
reason, where its tool is not installed (`.ci/run` installs them all).
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import ssl
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import pytest
import trustme
from conftest import GONDULF, SECRET
from support.reverse_proxy import (
    DEPLOY,
    HOST,
    ROOT,
    Ports,
    binary,
    caddy_environment,
    caddyfile,
    nginx_command,
    replaced,
    running,
    tls_files,
)
from support.server_process import running_server
from support.smtp_server import free_port

from gondulf.config import load_settings

UNIT = DEPLOY / "gondulf.service"
SHIPPED_GONDULF = "/opt/gondulf/.venv/bin/gondulf"
CLIENT_ADDRESS = "127.0.0.2"  # a browser elsewhere: the proxy's peer, never Gondulf's
SPOOFED = {
    "X-Forwarded-For": "203.0.113.9",
    "Forwarded": "for=198.51.100.7;proto=https",
    "X-Request-Id": "chosen-by-the-client",
}
NGINX_REQUEST_ID = re.compile(r"[0-9a-f]{32}")
CADDY_REQUEST_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Each must stay: removing one from the unit fails this test.
HARDENING = {
    "User": "gondulf",
    "WorkingDirectory": "/opt/gondulf",
    "ExecStart": f"{SHIPPED_GONDULF} serve",
    "StateDirectory": "gondulf",
    "StateDirectoryMode": "0700",
    "UMask": "0077",
    "Restart": "on-failure",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "AmbientCapabilities": "",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "SystemCallFilter": "@system-service",
    "SystemCallArchitectures": "native",
    "MemoryDenyWriteExecute": "yes",
    "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes",
    "LockPersonality": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
}
MAX_EXPOSURE = 2.0  # systemd-analyze security's 0 (locked down) to 10 (unprotected)


def needs(tool: str) -> pytest.MarkDecorator:
    """Skip without the tool, except in CI, where .ci/run installs it: there a missing one
    fails the test rather than hiding the kit from it."""
    return pytest.mark.skipif(
        binary(tool) is None and os.environ.get("CI") != "true",
        reason=f"{tool} is not installed (.ci/run installs it)",
    )


def tool(name: str) -> str:
    path = binary(name)
    assert path is not None, f"{name} is not installed (.ci/run installs it)"
    return path


def directives(unit: str) -> dict[str, list[str]]:
    """Each `Key=value` of a unit file, by key in order: a key may be given more than once."""
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


async def run(
    *command: str, env: Mapping[str, str] | None = None, timeout: float = 30
) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        *command,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=None if env is None else dict(env),
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout)
    return process.returncode or 0, output.decode()


def test_the_unit_keeps_every_hardening_directive() -> None:
    found = directives(UNIT.read_text())
    missing = {key: value for key, value in HARDENING.items() if value not in found.get(key, [])}
    assert missing == {}
    assert "ExecStartPre" not in found  # serve applies pending migrations itself


async def test_the_readmes_init_line_writes_a_valid_env_that_matches_the_unit(
    tmp_path: Path,
) -> None:
    """The Deploy section's `gondulf init` line, run for real (the SMTP answers given as
    options instead of typed): its settings pass and point where the unit expects."""
    found = directives(UNIT.read_text())
    (folder,), (state,) = found["WorkingDirectory"], found["StateDirectory"]
    readme = (ROOT / "README.md").read_text()
    assert f"\n   HOST={HOST}\n" in readme
    assert f"\n   cd {folder}\n" in readme
    line = re.search(r"\n +\.venv/bin/gondulf (init [^\n]*)\n", readme)
    assert line is not None, "the README no longer runs gondulf init"
    arguments = line.group(1).replace("$HOST", HOST).split()
    answers = ["--smtp-host", "smtp.example.com", "--smtp-username", "u", "--smtp-password", "-"]
    base = {k: v for k, v in os.environ.items() if not k.startswith("GONDULF_")}
    process = await asyncio.create_subprocess_exec(
        GONDULF,
        *arguments,
        *answers,
        cwd=tmp_path,
        env=base,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(b"secret password\n"), 30)
    assert process.returncode == 0, out.decode() + err.decode()
    settings = load_settings({}, env_file=tmp_path / ".env")
    assert settings.database_path == Path(f"/var/lib/{state}/gondulf.db")
    assert settings.issuer == f"https://{HOST}/" and not settings.debug
    assert [str(network) for network in settings.trusted_proxies] == ["127.0.0.1/32"]
    assert settings.warnings() == []


@needs("systemd-analyze")
async def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    # verify checks that ExecStart exists: point it at this checkout's gondulf.
    unit = tmp_path / "gondulf.service"
    unit.write_text(replaced(UNIT.read_text(), {SHIPPED_GONDULF: GONDULF}))
    code, output = await run(tool("systemd-analyze"), "verify", str(unit))
    # An unknown key or a bad value is only a warning line, with exit code 0.
    assert code == 0 and "gondulf.service" not in output, output


@needs("systemd-analyze")
async def test_the_units_exposure_stays_low(tmp_path: Path) -> None:
    code, output = await run(tool("systemd-analyze"), "security", "--offline=true", str(UNIT))
    assert code == 0, output
    score = re.search(r"Overall exposure level for gondulf\.service: (\d+\.\d+)", output)
    assert score is not None, output
    assert float(score.group(1)) <= MAX_EXPOSURE, output


@needs("caddy")
async def test_caddy_validates_the_caddyfile(tmp_path: Path) -> None:
    code, output = await run(
        tool("caddy"),
        "validate",
        "--config",
        str(DEPLOY / "Caddyfile"),
        "--adapter",
        "caddyfile",
        env=caddy_environment(tmp_path),
    )
    assert code == 0 and "Valid configuration" in output, output


@needs("nginx")
async def test_nginx_accepts_the_site(tmp_path: Path, ca: trustme.CA) -> None:
    nginx = tool("nginx")
    ports = Ports(free_port(), free_port(), 8000)
    command = nginx_command(nginx, tmp_path, ports, tls_files(ca, tmp_path))
    code, output = await run(*command, "-t")
    assert code == 0 and "test is successful" in output, output


PR_SET_MDWE, PR_GET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 66, 1  # linux/prctl.h


def _prctl(*args: int) -> int:
    return int(ctypes.CDLL(None, use_errno=True).prctl(*args, 0, 0, 0))


def deny_write_execute() -> None:
    """MemoryDenyWriteExecute=yes as the kernel does it (Linux 6.3+, and systemd 253+)."""
    if _prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_MDWE) failed")


def kernel_denies_write_execute() -> bool:
    return _prctl(PR_GET_MDWE, 0) >= 0


@pytest.fixture
def production(env: dict[str, str]) -> dict[str, str]:
    """Production mode (https issuer, GONDULF_DEBUG unset) behind a proxy on this machine."""
    assert "GONDULF_DEBUG" not in env and env["GONDULF_BASE_URL"] == "https://auth.test/"
    return {**env, "GONDULF_TRUSTED_PROXIES": "127.0.0.1"}


def from_elsewhere(client_tls: ssl.SSLContext) -> aiohttp.ClientSession:
    """A browser whose connections come from 127.0.0.2, checking the proxy's certificate."""
    connector = aiohttp.TCPConnector(local_addr=(CLIENT_ADDRESS, 0), ssl=client_tls)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=10))


def assert_the_log_names_the_client(log: str, request_id: str, proxy_ids: re.Pattern[str]) -> None:
    """The access line names the proxy's client and carries the proxy's request id."""
    assert f'[req={request_id}]: {CLIENT_ADDRESS} "GET /" 200' in log, log
    assert proxy_ids.fullmatch(request_id), request_id
    assert "203.0.113.9" not in log and "198.51.100.7" not in log, log
    assert "chosen-by-the-client" not in log, log
    assert SECRET not in log


@needs("nginx")
async def test_behind_nginx_health_is_plain_http_pages_are_https_and_the_log_names_the_client(
    tmp_path: Path,
    ca: trustme.CA,
    client_tls: ssl.SSLContext,
    production: dict[str, str],
) -> None:
    nginx = tool("nginx")
    ports = Ports(free_port(), free_port(), free_port())
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    command = nginx_command(nginx, prefix, ports, tls_files(ca, prefix))
    # Where the kernel can, Gondulf runs as the unit's MemoryDenyWriteExecute=yes has it.
    harden = deny_write_execute if kernel_denies_write_execute() else None
    async with (
        running_server(
            GONDULF, production, tmp_path, port=ports.upstream, preexec_fn=harden
        ) as server,
        running(command, ports, prefix / "output.log"),
        from_elsewhere(client_tls) as browser,
    ):
        plain = f"http://127.0.0.1:{ports.http}"
        async with browser.get(f"{plain}/health", allow_redirects=False) as health:
            assert health.status == 200
            assert (await health.json())["status"] == "healthy"
        # nginx replaces the client's X-Forwarded-Proto with the scheme it received, and
        # Gondulf sends the page to https on the issuer's host, not the Host it was sent.
        async with browser.get(
            f"{plain}/authorize?client_id=x",
            headers={"X-Forwarded-Proto": "https", "Host": "evil.test"},
            allow_redirects=False,
        ) as page:
            assert page.status == 301
            assert page.headers["Location"] == "https://auth.test/authorize?client_id=x"
        async with browser.get(
            f"https://127.0.0.1:{ports.https}/", headers=SPOOFED, allow_redirects=False
        ) as home:
            assert home.status == 200  # arrived over https: not redirected
            assert "auth.test" in await home.text()
            request_id = home.headers["X-Request-Id"]
    assert_the_log_names_the_client(server.log, request_id, NGINX_REQUEST_ID)


@needs("caddy")
async def test_behind_caddy_pages_are_https_and_the_log_names_the_client(
    tmp_path: Path,
    ca: trustme.CA,
    client_tls: ssl.SSLContext,
    production: dict[str, str],
) -> None:
    caddy = tool("caddy")
    ports = Ports(free_port(), free_port(), free_port())
    home_dir = tmp_path / "caddy"
    home_dir.mkdir()
    config = home_dir / "Caddyfile"
    config.write_text(caddyfile(ports, tls_files(ca, home_dir), home_dir / "storage"))
    command = [caddy, "run", "--config", str(config), "--adapter", "caddyfile"]
    async with (
        running_server(GONDULF, production, tmp_path, port=ports.upstream) as server,
        running(command, ports, home_dir / "output.log", caddy_environment(home_dir)),
        from_elsewhere(client_tls) as browser,
    ):
        # Caddy itself sends plain HTTP to https.
        async with browser.get(
            f"http://127.0.0.1:{ports.http}/authorize?client_id=x",
            headers={"Host": HOST},
            allow_redirects=False,
        ) as page:
            assert page.status in (301, 308)
            assert page.headers["Location"] == f"https://{HOST}/authorize?client_id=x"
        # Caddy answers a Host it does not serve with an empty 200: name the site.
        secure = f"https://127.0.0.1:{ports.https}"
        async with browser.get(
            f"{secure}/health", server_hostname=HOST, headers={"Host": HOST}, allow_redirects=False
        ) as health:
            assert health.status == 200
            assert (await health.json())["status"] == "healthy"
        async with browser.get(
            f"{secure}/",
            server_hostname=HOST,
            headers={"Host": HOST, **SPOOFED},
            allow_redirects=False,
        ) as home:
            assert home.status == 200  # arrived over https: not redirected
            assert "auth.test" in await home.text()
            request_id = home.headers["X-Request-Id"]
    assert_the_log_names_the_client(server.log, request_id, CADDY_REQUEST_ID)
