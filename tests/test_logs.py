"""The log of a real `gondulf serve`: each line written while a request is handled names
that request's id, and JSON lines have the documented fields and nothing secret."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import GONDULF, Outside
from support.server_process import running_server
from support.signin import RemoteGondulf, World

from gondulf.logs import ACCESS_FIELDS, JSON_FIELDS

README = Path(__file__).resolve().parent.parent / "README.md"
PROXIED = {
    "X-Request-Id": "edge-42",
    "X-Forwarded-For": "203.0.113.9",
    "User-Agent": "probe/1.0",
}


async def sign_in_and_probe(outside: Outside, tmp_path: Path, log_format: str) -> tuple[str, str]:
    """A sign-in, then a probe through the trusted proxy; the consent's request id and
    the server's whole log."""
    env = {**outside.env, "GONDULF_LOG_FORMAT": log_format, "GONDULF_TRUSTED_PROXIES": "127.0.0.1"}
    async with running_server(GONDULF, env, tmp_path, port=outside.port) as server:
        browser = RemoteGondulf(server.url)
        world = World(
            browser, outside.issuer, outside.dns, outside.smtp, outside.homepage, outside.app
        )
        try:
            page = await world.code_page()
            response = await world.post("/authorize/code", page, code=world.last_code())
            consent = await world.post(
                "/authorize/consent", await response.text(), action="approve", scope=["profile"]
            )
            assert consent.status == 302
            probe = await browser.get("/health?code=424242&token=SECRET", headers=PROXIED)
            assert probe.headers["X-Request-Id"] == "edge-42"
        finally:
            await browser.close()
    return consent.headers["X-Request-Id"], server.log


async def test_text_lines_of_a_request_show_its_id(outside: Outside, tmp_path: Path) -> None:
    request_id, log = await sign_in_and_probe(outside, tmp_path, "text")
    approved = next(line for line in log.splitlines() if "sign-in approved" in line)
    assert f"INFO gondulf.signin [req={request_id}]: sign-in approved for" in approved
    assert re.search(
        rf'gondulf.access \[req={request_id}\]: 127.0.0.1 "POST /authorize/s/\w+/consent" 302', log
    )
    # the client as the trusted proxy named it, the proxy's id, no query string
    assert 'gondulf.access [req=edge-42]: 203.0.113.9 "GET /health" 200' in log
    assert "424242" not in log and "SECRET" not in log
    serving = next(line for line in log.splitlines() if "Gondulf serving on" in line)
    assert "[req=" not in serving  # written outside any request


async def test_json_lines_have_the_documented_fields(outside: Outside, tmp_path: Path) -> None:
    request_id, log = await sign_in_and_probe(outside, tmp_path, "json")
    lines: list[dict[str, Any]] = [json.loads(line) for line in log.splitlines() if line]
    approved = next(line for line in lines if line["message"].startswith("sign-in approved"))
    assert approved["request_id"] == request_id and approved["logger"] == "gondulf.signin"
    assert set(approved) == {"time", "level", "logger", "message", "request_id"}
    consent = next(line for line in lines if line.get("path", "").endswith("/consent"))
    assert consent["request_id"] == request_id
    probe = next(line for line in lines if line.get("request_id") == "edge-42")
    assert set(probe) == {"time", "level", "logger", "message", "request_id", *ACCESS_FIELDS}
    assert probe["logger"] == "gondulf.access" and probe["level"] == "INFO"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", probe["time"])
    assert {k: probe[k] for k in ("method", "path", "status", "client", "user_agent")} == {
        "method": "GET",
        "path": "/health",
        "status": 200,
        "client": "203.0.113.9",
        "user_agent": "probe/1.0",
    }
    assert isinstance(probe["duration_ms"], float) and probe["duration_ms"] > 0
    assert isinstance(probe["bytes"], int) and probe["bytes"] > 0
    assert "424242" not in log and "SECRET" not in log
    serving = next(line for line in lines if line["message"].startswith("Gondulf serving on"))
    assert "request_id" not in serving  # written outside any request


@pytest.mark.parametrize("name", [*JSON_FIELDS, *ACCESS_FIELDS])
def test_every_json_field_is_documented(name: str) -> None:
    assert f"| `{name}` |" in README.read_text()
