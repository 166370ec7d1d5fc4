"""The server skeleton over real HTTP: health, home page, errors, headers, logging."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from support.signin import Client

from gondulf.config import Settings
from gondulf.storage.sqlite.migrations import load_migrations, migration_status
from gondulf.storage.sqlite.store import SQLiteStore
from gondulf.web.access_log import AccessLogger
from gondulf.web.app import create_app
from gondulf.web.keys import SERVICES

BEHIND_TLS_PROXY = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy adds


@pytest.fixture
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[Client]:
    """Production mode behind a trusted proxy (127.0.0.1) that terminates TLS."""
    app = create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1"))

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError("secret internals")

    app.router.add_get("/boom", boom)
    app.router.add_get("/token-boom", boom)
    async with TestClient(
        TestServer(app, host="127.0.0.1"), headers=BEHIND_TLS_PROXY
    ) as test_client:
        yield test_client


async def test_health_reports_a_connected_database(client: Client) -> None:
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "healthy", "database": {"read": "ok", "write": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


async def test_health_answers_over_plain_http_in_production(client: Client) -> None:
    # The original's HTTPS enforcement broke the container health check on plain HTTP.
    settings = client.app[SERVICES].settings
    assert not settings.debug and settings.base_url.startswith("https://")
    assert client.make_url("/health").scheme == "http"
    response = await client.get(
        "/health", allow_redirects=False, headers={"X-Forwarded-Proto": "http"}
    )
    assert response.status == 200


async def test_plain_http_is_sent_to_https_on_the_issuers_host(
    make_settings: Callable[..., Settings],
) -> None:
    async with TestClient(TestServer(create_app(make_settings()))) as plain:
        response = await plain.get(
            "/authorize?x=1", allow_redirects=False, headers={"Host": "evil.test"}
        )
        assert response.status == 301
        assert response.headers["Location"] == "https://auth.test/authorize?x=1"
        posted = await plain.post("/token", data={"code": "x"}, allow_redirects=False)
        assert posted.status == 403 and "only https" in (await posted.json())["error_description"]
        assert (await plain.get("/health")).status == 200  # probes keep working


async def test_only_a_trusted_proxy_can_say_the_request_came_over_https(
    make_settings: Callable[..., Settings],
) -> None:
    untrusted = create_app(make_settings(GONDULF_TRUSTED_PROXIES="10.0.0.0/8"))
    async with TestClient(TestServer(untrusted), headers=BEHIND_TLS_PROXY) as spoofing:
        assert (await spoofing.get("/", allow_redirects=False)).status == 301
    trusted = create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1"))
    async with TestClient(TestServer(trusted), headers=BEHIND_TLS_PROXY) as proxied:
        assert (await proxied.get("/", allow_redirects=False)).status == 200


async def test_health_is_503_when_the_database_is_unusable(client: Client) -> None:
    await client.app[SERVICES].store.close()
    response = await client.get("/health")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unhealthy" and "closed" in body["database"]["read"]


async def test_server_migrates_the_database_on_start(client: Client) -> None:
    store = client.app[SERVICES].store
    assert isinstance(store, SQLiteStore)
    statuses = await migration_status(store.database)
    assert [m.version for m in statuses if m.applied_at] == [m.version for m in load_migrations()]


async def test_home_page_names_the_service_and_setup(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    body = await response.text()
    assert "https://auth.test/" in body
    assert "_gondulf.example.com" in body and "gondulf-verify-domain" in body
    assert 'rel="me" href="mailto:' in body.replace("&lt;", "<").replace("&gt;", ">")
    assert "https://auth.test/.well-known/oauth-authorization-server" in body


async def test_html_pages_carry_the_metadata_link_and_security_headers(
    client: Client,
) -> None:
    response = await client.get("/")
    headers = response.headers
    assert headers["Link"] == (
        '<https://auth.test/.well-known/oauth-authorization-server>; rel="indieauth-metadata"'
    )
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"  # codes and state never leak onward
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["Server"] == "Gondulf"


async def test_no_hsts_in_development_mode(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(GONDULF_DEBUG="true"))
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.get("/")
        assert "Strict-Transport-Security" not in response.headers


async def test_stylesheet_is_served(client: Client) -> None:
    response = await client.get("/static/style.css")
    assert response.status == 200
    assert response.content_type == "text/css"


async def test_unknown_browser_path_is_an_html_404(client: Client) -> None:
    response = await client.get("/nowhere", headers={"Accept": "text/html"})
    assert response.status == 404
    assert response.content_type == "text/html"
    assert "Page not found" in await response.text()


async def test_unknown_api_path_is_a_json_404(client: Client) -> None:
    response = await client.get("/.well-known/nothing")
    assert response.status == 404
    assert (await response.json())["error"] == "not_found"


async def test_json_is_chosen_by_accept_header(client: Client) -> None:
    response = await client.get("/nowhere", headers={"Accept": "application/json"})
    assert response.content_type == "application/json"


async def test_wrong_method_is_405_with_allow(client: Client) -> None:
    response = await client.post("/health")
    assert response.status == 405
    assert "GET" in response.headers["Allow"]
    assert (await response.json())["error"] == "method_not_allowed"


async def test_unexpected_error_is_a_500_page_without_internals(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="gondulf.web"):
        response = await client.get("/boom")
    assert response.status == 500
    body = await response.text()
    assert "secret internals" not in body and "Traceback" not in body
    assert "Something went wrong" in body
    assert "secret internals" in caplog.text  # logged for the operator
    api = await client.get("/token-boom")
    assert api.status == 500 and (await api.json())["error"] == "server_error"


async def test_oversized_request_is_refused(client: Client) -> None:
    response = await client.post("/token", data={"code": "x" * (200 * 1024)})
    assert response.status == 413
    assert (await response.json())["error"] == "request_too_large"


async def test_access_log_leaves_out_query_strings(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    server = TestServer(create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1")))
    await server.start_server(access_log_class=AccessLogger)
    async with TestClient(server, headers=BEHIND_TLS_PROXY) as test_client:
        with caplog.at_level(logging.INFO, logger="gondulf.access"):
            await test_client.get("/health?code=654321&token=SECRET")
    assert '"GET /health" 200' in caplog.text
    assert "654321" not in caplog.text and "SECRET" not in caplog.text


async def test_access_log_names_the_client_a_trusted_proxy_forwarded(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    forwarded = {**BEHIND_TLS_PROXY, "X-Forwarded-For": "203.0.113.5"}
    for proxies, logged in (("127.0.0.1", "203.0.113.5"), ("", "127.0.0.1")):
        server = TestServer(create_app(make_settings(GONDULF_TRUSTED_PROXIES=proxies)))
        await server.start_server(access_log_class=AccessLogger)
        async with TestClient(server, headers=forwarded) as test_client:
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="gondulf.access"):
                await test_client.get("/health")
        assert caplog.messages[-1].startswith(f'{logged} "GET /health" 200'), proxies


async def test_a_request_too_malformed_to_reach_the_app_is_logged_with_its_peer(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    server = TestServer(create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1")))
    await server.start_server(access_log_class=AccessLogger)
    try:
        with caplog.at_level(logging.INFO, logger="gondulf.access"):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(b"GARBAGE\x01 / HTTP/1.1\r\nX-Forwarded-For: 203.0.113.5\r\n\r\n")
            assert (await reader.read(100)).startswith(b"HTTP/1.0 400")
            writer.close()
    finally:
        await server.close()
    assert caplog.messages[-1].startswith('127.0.0.1 "'), caplog.messages
    assert '" 400 ' in caplog.messages[-1]


async def test_sign_in_cookie_is_secure_in_production(
    make_settings: Callable[..., Settings],
) -> None:
    # a loopback client_id is never fetched, so this works without any web site
    app = create_app(make_settings(GONDULF_TRUSTED_PROXIES="127.0.0.1"))
    async with TestClient(TestServer(app), headers=BEHIND_TLS_PROXY) as test_client:
        response = await test_client.get(
            "/authorize",
            params={
                "response_type": "code",
                "client_id": "http://127.0.0.1:9/",
                "redirect_uri": "http://127.0.0.1:9/cb",
                "state": "s",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
            allow_redirects=False,
        )
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie


async def test_authorization_endpoint_without_parameters_explains_itself(
    client: Client,
) -> None:
    response = await client.get("/authorize")
    assert response.status == 400
    assert "Start from an app" in await response.text()
