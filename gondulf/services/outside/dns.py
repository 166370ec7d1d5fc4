"""DNS: the one resolver for every lookup, TXT queries and the domain proof.

A person proves their domain with a TXT record at `_gondulf.<domain>` whose
value is `gondulf-verify-domain`. The resolver built here also resolves the
addresses of every host the fetcher connects to, so a test DNS server on
127.0.0.1 can stand in for the internet.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.inet
import dns.nameserver
import dns.rdatatype
import dns.resolver

from gondulf.config import Nameserver
from gondulf.indieauth.urls import canonical_host

VERIFY_PREFIX = "_gondulf"
VERIFY_VALUE = "gondulf-verify-domain"
FALLBACK_NAMESERVERS = ("1.1.1.1", "9.9.9.9", "8.8.8.8")
LIFETIME = 5.0


class LookupStatus(enum.Enum):
    FOUND = "found"
    NXDOMAIN = "nxdomain"  # the name does not exist
    NO_ANSWER = "no-answer"  # the name exists but holds no record of that type
    TIMEOUT = "timeout"  # no nameserver answered in time
    NO_NAMESERVERS = "no-nameservers"  # every nameserver failed (SERVFAIL, refused...)
    INVALID_NAME = "invalid-name"  # not a name DNS can hold (too long, empty label)


@dataclass(frozen=True)
class TxtResult:
    name: str
    status: LookupStatus
    values: tuple[str, ...] = ()

    @property
    def describe(self) -> str:
        return {
            LookupStatus.FOUND: f"{self.name} holds {', '.join(map(repr, self.values))}",
            LookupStatus.NXDOMAIN: f"{self.name} does not exist",
            LookupStatus.NO_ANSWER: f"{self.name} exists but has no TXT record",
            LookupStatus.TIMEOUT: f"no DNS server answered for {self.name} in time",
            LookupStatus.NO_NAMESERVERS: f"every DNS server failed to answer for {self.name}",
            LookupStatus.INVALID_NAME: f"{self.name} is not a valid DNS name",
        }[self.status]


@dataclass(frozen=True)
class DomainProof:
    domain: str
    txt: TxtResult

    @property
    def record_name(self) -> str:
        return verification_name(self.domain)

    @property
    def verified(self) -> bool:
        return VERIFY_VALUE in self.txt.values

    @property
    def lookup_failed(self) -> bool:
        """True when DNS did not answer, as opposed to answering without the record."""
        return self.txt.status in (LookupStatus.TIMEOUT, LookupStatus.NO_NAMESERVERS)

    @property
    def fix(self) -> str:
        if self.lookup_failed:  # the record may well be there: the resolver is the question
            return (
                "check that this machine can reach its DNS servers (GONDULF_DNS_NAMESERVERS, "
                "or /etc/resolv.conf when it is empty) and try again; a slow resolver may need "
                "a longer GONDULF_DNS_TIMEOUT"
            )
        if self.txt.status is LookupStatus.INVALID_NAME:
            return "give a domain name, such as example.com"
        return f'add a TXT record: {self.record_name}. IN TXT "{VERIFY_VALUE}"'


def verification_name(domain: str) -> str:
    return f"{VERIFY_PREFIX}.{canonical_host(domain)}"


def build_resolver(
    nameservers: tuple[Nameserver, ...],
    lifetime: float = LIFETIME,
    resolv_conf: str = "/etc/resolv.conf",
) -> dns.asyncresolver.Resolver:
    """The resolver for `GONDULF_DNS_NAMESERVERS`; empty means the system's, else public ones."""
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(ns.address, ns.port) for ns in nameservers
        ]
    else:
        try:
            resolver = dns.asyncresolver.Resolver(filename=resolv_conf)
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.asyncresolver.Resolver(configure=False)
        if not resolver.nameservers:
            resolver.nameservers = list(FALLBACK_NAMESERVERS)
    resolver.lifetime = lifetime
    resolver.timeout = lifetime  # one slow answer may use the whole budget
    return resolver


class DnsService:
    def __init__(self, resolver: dns.asyncresolver.Resolver) -> None:
        self.resolver = resolver

    async def txt(self, name: str) -> TxtResult:
        """Every TXT value at `name`, the strings of a multi-string record joined."""
        try:
            answer = await self.resolver.resolve(name, "TXT", search=False)
        except dns.resolver.NXDOMAIN:
            return TxtResult(name, LookupStatus.NXDOMAIN)
        except dns.resolver.NoAnswer:
            return TxtResult(name, LookupStatus.NO_ANSWER)
        except dns.exception.Timeout:
            return TxtResult(name, LookupStatus.TIMEOUT)
        except dns.resolver.NoNameservers:
            return TxtResult(name, LookupStatus.NO_NAMESERVERS)
        except dns.exception.DNSException:  # NameTooLong, EmptyLabel...
            return TxtResult(name, LookupStatus.INVALID_NAME)
        values = tuple(
            b"".join(rdata.strings).decode("utf-8", errors="replace") for rdata in answer
        )
        return TxtResult(name, LookupStatus.FOUND, values)

    async def verify_domain(self, domain: str) -> DomainProof:
        return DomainProof(canonical_host(domain), await self.txt(verification_name(domain)))

    async def addresses(self, host: str) -> list[str]:
        """A and AAAA addresses of `host` (IPv4 first); empty when it has none."""
        found: list[str] = []
        for rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
            try:
                answer = await self.resolver.resolve(host, rdtype, search=False)
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            found.extend(rdata.address for rdata in answer)
        return found
