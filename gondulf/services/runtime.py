"""The services the server and the CLI share, opened and closed together.

`open_services` is the one place that builds the resolver, fetcher, email
sender and database from the settings, so `gondulf serve` and every admin
command talk to DNS, SMTP, the web and SQLite in exactly the same way.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from gondulf.config import Settings
from gondulf.errors import DatabaseError
from gondulf.services.dns import DnsService, build_resolver
from gondulf.services.domains import DomainStore
from gondulf.services.email import EmailSender
from gondulf.services.fetch import Fetcher, FetchPolicy
from gondulf.services.rate_limits import AbuseLimits
from gondulf.storage.database import Database, server_lock
from gondulf.storage.migrations import apply_migrations


@dataclass(frozen=True)
class Services:
    settings: Settings
    dns: DnsService
    fetcher: Fetcher
    email: EmailSender
    _db: Database | None
    limits: AbuseLimits

    @property
    def db(self) -> Database:
        if self._db is None:
            raise DatabaseError("this command was started without the database")
        return self._db

    @property
    def domains(self) -> DomainStore:
        return DomainStore(self.db)


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy.development() if settings.debug else FetchPolicy.production()


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    database: bool = True,
    migrate: bool = False,
    hold_lock: bool = False,
    client_ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[Services]:
    """Open what the settings describe; `client_ssl_context` overrides the trusted CAs.

    `hold_lock` (the server) holds a shared lock on the database for as long as
    it runs, so `gondulf restore` can tell that a server is using it.
    """
    async with AsyncExitStack() as stack:
        db = None
        if hold_lock:
            stack.enter_context(server_lock(settings.database_path))
        if database:
            db = await Database.open(settings.database_path)
            stack.push_async_callback(db.close)
            if migrate:
                await apply_migrations(db)
        dns_service = DnsService(build_resolver(settings.dns_nameservers, settings.dns_timeout))
        fetcher = await Fetcher.open(dns_service, fetch_policy(settings),
                                     ssl_context=client_ssl_context)
        stack.push_async_callback(fetcher.close)
        email = EmailSender(settings.smtp, debug=settings.debug, tls_context=client_ssl_context)
        yield Services(settings, dns_service, fetcher, email, db,
                       AbuseLimits.from_settings(settings.limits))
