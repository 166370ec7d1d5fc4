"""`gondulf inspect-domain`: is a person's domain set up to sign in here?

Every line is a check with its result and, when it fails, the exact record
or tag to add.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from gondulf.errors import UsageError
from gondulf.indieauth.endpoints import METADATA_REL
from gondulf.indieauth.urls import InvalidURL, canonical_host
from gondulf.services.domains import DNS_CHECK_VALID_FOR
from gondulf.services.outside.dns import DomainProof
from gondulf.services.outside.fetch import FetchError
from gondulf.services.outside.homepage import Homepage, discover_homepage, same_host
from gondulf.services.runtime import Services
from gondulf.timestamps import utc_text

PASS, FAIL, INFO = "pass", "fail", "info"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # pass, fail or info (info lines never fail the inspection)
    detail: str
    fix: str | None = None


@dataclass(frozen=True)
class Inspection:
    domain: str
    homepage_url: str
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.status != FAIL for check in self.checks)


def parse_target(target: str, *, debug: bool) -> tuple[str, str]:
    """`example.com` or `https://example.com/path` → (domain, homepage URL)."""
    text = target.strip()
    if "://" not in text:
        text = f"https://{text}/"
    parts = urlsplit(text)
    try:
        host = canonical_host(parts.hostname or "")
    except InvalidURL:
        raise UsageError(f"{target!r} is not a domain name") from None
    allowed = ("http", "https") if debug else ("https",)
    if parts.scheme not in allowed or not host or ("." not in host and host != "localhost"):
        raise UsageError(
            f"{target!r} is not a domain or {' or '.join(allowed)} URL "
            "(such as example.com or https://example.com/)"
        )
    if any(c.isspace() for c in host) or parts.username or parts.password:
        raise UsageError(f"{target!r} is not a domain name")
    return host, text if parts.path else text + "/"


def _dns_check(proof: DomainProof) -> Check:
    if proof.verified:
        return Check("DNS TXT record", PASS, proof.txt.describe)
    return Check("DNS TXT record", FAIL, proof.txt.describe, proof.fix)


def _endpoint_checks(homepage: Homepage, links: Mapping[str, str]) -> list[Check]:
    checks = []
    for rel, url in links.items():
        found = homepage.endpoint(rel)
        label = f"rel={rel}" + ("" if rel == METADATA_REL else " (older clients)")
        if found == url:
            checks.append(Check(label, PASS, f"points at this server: {url}"))
        else:
            detail = f"points elsewhere: {found}" if found else "not found on the homepage"
            checks.append(Check(label, FAIL, detail, f'add <link rel="{rel}" href="{url}">'))
    return checks


def _homepage_checks(
    homepage: Homepage | FetchError, url: str, domain: str, links: Mapping[str, str]
) -> list[Check]:
    if isinstance(homepage, FetchError):
        return [
            Check(
                "homepage",
                FAIL,
                f"{url} could not be fetched: {homepage}",
                f"make {url} answer 200 with an HTML page over https",
            )
        ]
    checks = [Check("homepage", PASS, f"{homepage.url} answered")]
    identity = homepage.profile_url(url)
    if not same_host(homepage.url, identity):
        checks[0] = Check(
            "homepage",
            FAIL,
            f"{url} redirects temporarily to another site: {homepage.url}",
            f"serve the homepage on {domain} itself, or "
            "redirect permanently (301) to make that site the identity",
        )
    elif not same_host(identity, url):
        checks[0] = Check(
            "homepage",
            INFO,
            f"{url} moved permanently to {identity}, which becomes the identity",
            "that host needs its own _gondulf TXT record",
        )
    if homepage.emails:
        checks.append(
            Check("rel=me email", PASS, "sign-in codes go to " + ", ".join(homepage.emails))
        )
    else:
        checks.append(
            Check(
                "rel=me email",
                FAIL,
                'no rel="me" mailto: link found',
                f'add <link rel="me" href="mailto:you@{domain}">',
            )
        )
    return checks + _endpoint_checks(homepage, links)


async def _database_check(services: Services, domain: str) -> Check:
    if not services.settings.database_path.exists():
        return Check("database", INFO, f"no database yet at {services.settings.database_path}")
    record = await services.domains.get(domain)
    if record is None:
        return Check("database", INFO, "no sign-in has checked this domain yet")
    when = utc_text
    fresh = record.verified_recently(time.time(), DNS_CHECK_VALID_FOR)
    return Check(
        "database",
        INFO,
        f"DNS last checked {when(record.last_checked_at)} ({record.last_check_result}); "
        f"last verified {when(record.last_verified_at)}"
        + ("; remembered as verified" if fresh else ""),
    )


async def inspect_domain(services: Services, target: str, links: Mapping[str, str]) -> Inspection:
    """`links` are the rel values a homepage should carry and the URLs they should name."""
    settings = services.settings
    domain, url = parse_target(target, debug=settings.debug)

    async def fetch_homepage() -> Homepage | FetchError:
        try:
            return await discover_homepage(services.fetcher, url)
        except FetchError as exc:
            return exc

    proof, homepage = await asyncio.gather(services.dns.verify_domain(domain), fetch_homepage())
    checks = [_dns_check(proof)]
    checks += _homepage_checks(homepage, url, domain, links)
    checks.append(await _database_check(services, domain))
    return Inspection(domain, url, tuple(checks))
