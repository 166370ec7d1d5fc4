"""DNS: TXT lookups against a real DNS server on 127.0.0.1, each failure told apart."""

from __future__ import annotations

from pathlib import Path

import dns.nameserver
import pytest
from support.dns_server import RunningDns

from gondulf.config import Nameserver
from gondulf.services.domains import DomainService
from gondulf.services.outside.dns import (
    FALLBACK_NAMESERVERS,
    DnsService,
    LookupStatus,
    build_resolver,
    verification_name,
)
from gondulf.storage.sqlite.database import Database
from gondulf.storage.sqlite.store import SQLiteStore


def service(dns: RunningDns) -> DnsService:
    return DnsService(build_resolver((Nameserver("127.0.0.1", dns.port),), lifetime=2))


async def test_txt_record_is_found(dns: RunningDns) -> None:
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    result = await service(dns).txt("_gondulf.jane.test")
    assert result.status is LookupStatus.FOUND
    assert result.values == ("gondulf-verify-domain",)


async def test_multi_string_txt_record_is_joined(dns: RunningDns) -> None:
    dns.zone.add_txt("long.test", "gondulf-", "verify-", "domain")
    dns.zone.add_txt("long.test", "v=spf1 -all")
    result = await service(dns).txt("long.test")
    assert set(result.values) == {"gondulf-verify-domain", "v=spf1 -all"}


async def test_nxdomain_is_told_apart(dns: RunningDns) -> None:
    result = await service(dns).txt("absent.test")
    assert result.status is LookupStatus.NXDOMAIN
    assert "does not exist" in result.describe


async def test_name_without_txt_record_is_no_answer(dns: RunningDns) -> None:
    dns.zone.add_a("_gondulf.jane.test")
    result = await service(dns).txt("_gondulf.jane.test")
    assert result.status is LookupStatus.NO_ANSWER
    assert "no TXT record" in result.describe


async def test_failing_nameserver_is_no_nameservers(dns: RunningDns) -> None:
    dns.zone.servfail.add("broken.test")
    result = await service(dns).txt("broken.test")
    assert result.status is LookupStatus.NO_NAMESERVERS
    assert "failed" in result.describe


async def test_silent_nameserver_is_a_timeout(dead_dns_port: int) -> None:
    resolver = build_resolver((Nameserver("127.0.0.1", dead_dns_port),), lifetime=0.5)
    result = await DnsService(resolver).txt("_gondulf.jane.test")
    assert result.status is LookupStatus.TIMEOUT
    assert "in time" in result.describe


async def test_domain_proof_queries_the_gondulf_subdomain(dns: RunningDns) -> None:
    # The original checked the bare domain; only _gondulf.<domain> proves it.
    dns.zone.add_txt("jane.test", "gondulf-verify-domain")
    proof = await service(dns).verify_domain("Jane.TEST")
    assert not proof.verified
    assert ("_gondulf.jane.test", "TXT") in dns.zone.queries
    assert proof.fix == 'add a TXT record: _gondulf.jane.test. IN TXT "gondulf-verify-domain"'
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    assert (await service(dns).verify_domain("jane.test")).verified


async def test_wrong_txt_value_does_not_prove(dns: RunningDns) -> None:
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain-not")
    proof = await service(dns).verify_domain("jane.test")
    assert not proof.verified and not proof.lookup_failed


async def test_addresses_returns_a_and_aaaa(dns: RunningDns) -> None:
    dns.zone.add_a("jane.test", "127.0.0.1")
    dns.zone.add_a("jane.test", "::1")
    assert await service(dns).addresses("jane.test") == ["127.0.0.1", "::1"]
    assert await service(dns).addresses("absent.test") == []


def test_configured_nameservers_keep_their_ports() -> None:
    resolver = build_resolver((Nameserver("127.0.0.1", 5353), Nameserver("::1")))
    servers = [ns for ns in resolver.nameservers if isinstance(ns, dns.nameserver.Do53Nameserver)]
    assert [(ns.address, ns.port) for ns in servers] == [
        ("127.0.0.1", 5353),
        ("::1", 53),
    ]


def test_system_resolver_is_used_when_configured(tmp_path: Path) -> None:
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 192.0.2.53\n")
    resolver = build_resolver((), resolv_conf=str(conf))
    assert [str(ns) for ns in resolver.nameservers] == ["192.0.2.53"]


@pytest.mark.parametrize("content", [None, "# no nameserver line\n"])
def test_system_without_resolver_falls_back_to_public_ones(
    tmp_path: Path, content: str | None
) -> None:
    conf = tmp_path / "resolv.conf"
    if content is not None:
        conf.write_text(content)
    resolver = build_resolver((), resolv_conf=str(conf))
    assert [str(ns) for ns in resolver.nameservers] == list(FALLBACK_NAMESERVERS)


def test_verification_name() -> None:
    assert verification_name("Example.COM.") == "_gondulf.example.com"


async def test_domain_check_is_remembered_for_a_day(dns: RunningDns, db: Database) -> None:
    dns.zone.add_txt("_gondulf.jane.test", "gondulf-verify-domain")
    store = DomainService(SQLiteStore(db).domains, service(dns))
    verified, proof = await store.check("jane.test", now=1_000_000)
    assert verified and proof is not None
    dns.zone.records.clear()
    # within 24 h: remembered, no query
    queries = len(dns.zone.queries)
    verified, proof = await store.check("jane.test", now=1_000_000 + 86399)
    assert verified and proof is None and len(dns.zone.queries) == queries
    # after 24 h: checked again, and the failure is recorded beside the old success
    verified, proof = await store.check("jane.test", now=1_000_000 + 86400)
    assert not verified and proof is not None
    record = await store.get("jane.test")
    assert record is not None
    assert record.last_verified_at == 1_000_000
    assert record.last_checked_at == 1_000_000 + 86400
    assert "does not exist" in (record.last_check_result or "")


async def test_dns_outage_is_not_recorded(dead_dns_port: int, db: Database) -> None:
    resolver = DnsService(build_resolver((Nameserver("127.0.0.1", dead_dns_port),), lifetime=0.3))
    domains = DomainService(SQLiteStore(db).domains, resolver)
    verified, proof = await domains.check("jane.test")
    assert not verified and proof is not None and proof.lookup_failed
    assert await domains.get("jane.test") is None


async def test_one_slow_answer_may_take_the_whole_dns_timeout(dns: RunningDns) -> None:
    """GONDULF_DNS_TIMEOUT bounds the lookup, not a shorter per-try default of dnspython."""
    dns.zone.add_txt("_gondulf.slow.test", "gondulf-verify-domain")
    dns.zone.delays["_gondulf.slow.test"] = 2.5
    resolver = DnsService(build_resolver((Nameserver("127.0.0.1", dns.port),), lifetime=5))
    assert (await resolver.verify_domain("slow.test")).verified
