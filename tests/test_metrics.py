"""GET /metrics: off unless switched on, served only to loopback and the trusted proxies,
and every counter moved by the real thing it counts."""

from __future__ import annotations

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from prometheus_client.parser import text_string_to_metric_families
from support.database import stuck_write
from support.signin import World

from gondulf import __version__
from gondulf.config.values import networks
from gondulf.storage.sqlite import database
from gondulf.web.client_address import local_or_proxy

ON = {"GONDULF_METRICS": "true"}
PROXY = {"GONDULF_TRUSTED_PROXIES": "127.0.0.1"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(world: World) -> Samples:
    response = await world.gondulf.get("/metrics")
    assert response.status == 200, await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(await response.text())
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_metrics_are_off_unless_switched_on(world: World) -> None:
    metrics = await world.gondulf.get("/metrics", headers={"Accept": "text/html"})
    unknown = await world.gondulf.get("/no-such-page", headers={"Accept": "text/html"})
    assert metrics.status == unknown.status == 404
    assert "Page not found" in await metrics.text()


@pytest.mark.settings(**ON)
async def test_metrics_are_served_to_loopback_in_prometheus_text_format(world: World) -> None:
    response = await world.gondulf.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    samples = await scrape(world)
    assert value(samples, "gondulf_info", version=__version__) == 1
    assert value(
        samples, "gondulf_http_requests_total", route="metrics", method="GET", status="200"
    )
    openmetrics = await world.gondulf.get(
        "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
    )
    assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
    assert (await openmetrics.text()).endswith("# EOF\n")


@pytest.mark.settings(**ON, **PROXY)
async def test_a_request_the_proxy_forwards_for_an_outsider_is_refused(world: World) -> None:
    forwarded = await world.gondulf.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
    assert forwarded.status == 403
    assert "only to this machine and to the trusted proxies" in await forwarded.text()
    assert (await world.gondulf.get("/metrics")).status == 200  # the proxy's own scrape
    local = await world.gondulf.get("/metrics", headers={"X-Forwarded-For": "::1"})
    assert local.status == 200  # a scraper on the proxy's machine


def test_only_loopback_and_trusted_proxies_may_scrape() -> None:
    proxies = networks("10.0.0.0/8,2001:db8::7")
    for address in ("127.0.0.1", "127.3.4.5", "::1", "::ffff:127.0.0.1", "10.1.2.3", "2001:db8::7"):
        assert local_or_proxy(address, proxies), address
    for address in ("203.0.113.5", "192.168.1.5", "2001:db8::8", "::ffff:203.0.113.5", "", "x"):
        assert not local_or_proxy(address, proxies), address
    assert not local_or_proxy("10.1.2.3", ())


@pytest.mark.settings(**ON)
async def test_requests_are_counted_by_route_name_method_and_status(world: World) -> None:
    for path in ("/health", "/health", "/nowhere/1", "/nowhere/2"):
        await world.gondulf.get(path)
    assert isinstance(world.gondulf, TestClient)
    await world.gondulf.request("PROPFIND", "/health")  # a method no route has
    samples = await scrape(world)
    requests = "gondulf_http_requests_total"
    assert value(samples, requests, route="health", method="GET", status="200") == 2
    assert value(samples, requests, route="unmatched", method="GET", status="404") == 2
    assert value(samples, requests, route="unmatched", method="other", status="405") == 1
    durations = "gondulf_http_request_duration_seconds_count"
    assert value(samples, durations, route="health", method="GET") == 2
    assert not any("/nowhere" in str(labels) for _, labels in samples)


async def enter_code(world: World, page: str, code: str) -> ClientResponse:
    return await world.post("/authorize/code", page, code=code)


@pytest.mark.settings(**ON)
async def test_a_sign_in_moves_the_sign_in_counters(world: World) -> None:
    page = await world.code_page()
    wrong = f"{(int(world.last_code()) + 1) % 1_000_000:06d}"
    await enter_code(world, page, wrong)
    response = await enter_code(world, page, world.last_code())
    response = await world.post(
        "/authorize/consent", await response.text(), action="approve", scope=["profile"]
    )
    assert response.status == 302
    samples = await scrape(world)
    assert value(samples, "gondulf_signins_started_total") == 1
    assert value(samples, "gondulf_signin_codes_sent_total") == 1
    assert value(samples, "gondulf_emails_sent_total") == 1
    assert value(samples, "gondulf_signin_code_checks_total", result="wrong") == 1
    assert value(samples, "gondulf_signin_code_checks_total", result="right") == 1
    assert value(samples, "gondulf_signins_completed_total") == 1
    assert not any(name == "gondulf_signins_failed_total" for name, _ in samples)


@pytest.mark.settings(**ON)
async def test_token_issue_checks_and_revocation_are_counted(world: World) -> None:
    query = await world.sign_in()
    tokens = await (await world.redeem("/token", query["code"])).json()
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert (await world.gondulf.get("/token", headers=bearer)).status == 200
    assert (await world.gondulf.get("/userinfo", headers=bearer)).status == 200
    introspected = await world.gondulf.post(
        "/introspect", data={"token": tokens["access_token"]}, headers=bearer
    )
    assert (await introspected.json())["active"] is True
    revoked = await world.gondulf.post("/revoke", data={"token": tokens["access_token"]})
    assert revoked.status == 200
    assert (await world.gondulf.get("/token", headers=bearer)).status == 401
    samples = await scrape(world)
    assert value(samples, "gondulf_tokens_issued_total", kind="access") == 1
    assert value(samples, "gondulf_tokens_issued_total", kind="refresh") == 1
    assert value(samples, "gondulf_tokens_verified_total", result="active") == 3
    assert value(samples, "gondulf_tokens_verified_total", result="inactive") == 1
    assert value(samples, "gondulf_tokens_revoked_total") == 1
    refreshed = await world.gondulf.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": world.client_id,
        },
    )
    assert refreshed.status == 200
    samples = await scrape(world)
    assert value(samples, "gondulf_tokens_issued_total", kind="access") == 2
    assert value(samples, "gondulf_tokens_issued_total", kind="refresh") == 2


@pytest.mark.settings(**ON, GONDULF_LIMIT_SIGNINS_PER_IP="1", GONDULF_LIMIT_FAILED_API_PER_IP="1")
async def test_rate_limit_refusals_are_counted_by_limit(world: World) -> None:
    assert (await world.get_authorize()).status == 200
    assert (await world.get_authorize()).status == 429
    guess = {"Authorization": "Bearer a-guess"}
    assert (await world.gondulf.get("/token", headers=guess)).status == 401
    assert (await world.gondulf.get("/token", headers=guess)).status == 429
    samples = await scrape(world)
    refusals = "gondulf_rate_limit_refusals_total"
    assert value(samples, refusals, limit="signins-per-ip") == 1
    assert value(samples, refusals, limit="failed-api-per-ip") == 1
    assert value(samples, "gondulf_signins_failed_total", reason="too-many-signins") == 1
    assert value(samples, "gondulf_signins_started_total") == 1


@pytest.mark.settings(**ON, GONDULF_LIMIT_CODES_PER_SESSION="1")
async def test_a_resend_past_the_sign_ins_codes_is_counted(world: World) -> None:
    page = await world.code_page()
    refused = await world.post("/authorize/resend", page)
    assert refused.status == 429
    samples = await scrape(world)
    assert value(samples, "gondulf_rate_limit_refusals_total", limit="codes-per-session") == 1
    assert value(samples, "gondulf_signins_failed_total", reason="too-many-codes") == 1


@pytest.mark.settings(**ON, GONDULF_SMTP_PORT="1")  # nothing listens there
async def test_an_email_that_cannot_be_sent_is_counted(world: World) -> None:
    page = await (await world.get_authorize()).text()
    failed = await world.post("/authorize/email", page, email="0")
    assert failed.status == 502
    samples = await scrape(world)
    assert value(samples, "gondulf_emails_failed_total") == 1
    assert value(samples, "gondulf_emails_sent_total") == 0
    assert value(samples, "gondulf_signin_codes_sent_total") == 0
    assert value(samples, "gondulf_signins_failed_total", reason="email-failed") == 1


@pytest.mark.settings(**ON)
async def test_a_website_that_is_not_one_is_a_failed_step(world: World) -> None:
    page = await (await world.get_authorize(me=None)).text()
    response = await world.post("/authorize/website", page, me="not a website")
    assert response.status == 400
    samples = await scrape(world)
    assert value(samples, "gondulf_signins_failed_total", reason="bad-website") == 1


@pytest.mark.settings(**ON)
async def test_giving_up_on_a_busy_database_is_counted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "LOCK_WAIT", 0.2)
    assert isinstance(world.gondulf, TestClient)
    async with stuck_write(world.gondulf.app):
        busy = await world.gondulf.post("/revoke", data={"token": "x"})
    assert busy.status == 503
    samples = await scrape(world)
    assert value(samples, "gondulf_database_busy_total") == 1
    assert (
        value(
            samples, "gondulf_http_requests_total", route="revocation", method="POST", status="503"
        )
        == 1
    )
