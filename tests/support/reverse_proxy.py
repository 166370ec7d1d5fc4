"""nginx and Caddy on 127.0.0.1 with deploy/'s configuration, localised for a test.

The shipped files name a real host, certbot's certificate paths and port 8000; a test
swaps in loopback ports, a trustme certificate and folders under tmp_path, and each swap
must find its text, so a change to a shipped file's shape fails loudly here.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import trustme

ROOT = Path(__file__).resolve().parent.parent.parent
DEPLOY = ROOT / "deploy"
HOST = "auth.example.com"  # the host the shipped files name
NGINX_TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def binary(name: str) -> str | None:
    """The tool on PATH, or in the sbin folders a non-root PATH may lack."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def replaced(text: str, replacements: Mapping[str, str]) -> str:
    for old, new in replacements.items():
        assert old in text, f"the shipped file no longer contains {old!r}"
        text = text.replace(old, new)
    return text


@dataclass(frozen=True)
class TlsFiles:
    cert: Path  # the chain, leaf first
    key: Path


def tls_files(ca: trustme.CA, folder: Path) -> TlsFiles:
    """A certificate for the shipped host name and 127.0.0.1, signed by the test CA."""
    issued = ca.issue_cert(HOST, "127.0.0.1")
    files = TlsFiles(folder / "fullchain.pem", folder / "privkey.pem")
    files.cert.write_bytes(b"".join(blob.bytes() for blob in issued.cert_chain_pems))
    issued.private_key_pem.write_to_path(str(files.key))
    return files


@dataclass(frozen=True)
class Ports:
    http: int
    https: int
    upstream: int  # where gondulf serve listens


def nginx_site(ports: Ports, tls: TlsFiles, webroot: Path) -> str:
    """deploy/nginx.conf listening on loopback only, with the test's certificate."""
    return replaced(
        (DEPLOY / "nginx.conf").read_text(),
        {
            "    listen [::]:80;\n": "",
            "    listen [::]:443 ssl;\n": "",
            "listen 80;": f"listen 127.0.0.1:{ports.http};",
            "listen 443 ssl;": f"listen 127.0.0.1:{ports.https} ssl;",
            f"/etc/letsencrypt/live/{HOST}/fullchain.pem": str(tls.cert),
            f"/etc/letsencrypt/live/{HOST}/privkey.pem": str(tls.key),
            "127.0.0.1:8000": f"127.0.0.1:{ports.upstream}",
            "/var/www/html": str(webroot),
        },
    )


def nginx_main(prefix: Path, site: Path) -> Path:
    """A whole nginx.conf around the site, keeping every file nginx writes under prefix."""
    temp = "\n".join(f"    {name}_temp_path {prefix / name};" for name in NGINX_TEMP_PATHS)
    path = prefix / "nginx.conf"
    path.write_text(
        f"daemon off;\nmaster_process off;\npid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n    access_log off;\n{temp}\n    include {site};\n}}\n"
    )
    return path


def nginx_command(nginx: str, prefix: Path, ports: Ports, tls: TlsFiles) -> list[str]:
    """The nginx command line for deploy/nginx.conf, its files written under prefix."""
    webroot = prefix / "www"
    webroot.mkdir(exist_ok=True)
    site = prefix / "gondulf-site.conf"
    site.write_text(nginx_site(ports, tls, webroot))
    main = nginx_main(prefix, site)
    return [nginx, "-p", f"{prefix}/", "-e", str(prefix / "error.log"), "-c", str(main)]


def caddyfile(ports: Ports, tls: TlsFiles, storage: Path) -> str:
    """deploy/Caddyfile on loopback ports with the test's certificate: no ACME, no admin."""
    site = replaced(
        (DEPLOY / "Caddyfile").read_text(),
        {
            f"{HOST} {{\n": f"{HOST} {{\n\tbind 127.0.0.1\n\ttls {tls.cert} {tls.key}\n",
            "127.0.0.1:8000": f"127.0.0.1:{ports.upstream}",
        },
    )
    options = (
        "{\n\tadmin off\n\tauto_https disable_certs\n"
        f"\thttp_port {ports.http}\n\thttps_port {ports.https}\n"
        f"\tstorage file_system {storage}\n}}\n\n"
    )
    return options + site


def caddy_environment(home: Path) -> dict[str, str]:
    """Caddy keeps its data and autosaved config under HOME or XDG folders: keep them here."""
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


async def wait_for_port(
    port: int, process: asyncio.subprocess.Process, log: Path, timeout: float = 10
) -> None:
    for _ in range(int(timeout / 0.05)):
        if process.returncode is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text()}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}:\n{log.read_text()}")


@asynccontextmanager
async def running(
    command: Sequence[str], ports: Ports, log: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[None]:
    """Run a proxy in the foreground until the block ends; its output goes to `log`."""
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env=None if env is None else dict(env),
        )
    try:
        await wait_for_port(ports.https, process, log)
        await wait_for_port(ports.http, process, log)
        yield
    finally:
        if process.returncode is None:
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()
