"""The services the server and the CLI share, built once and closed together.

`open_services` is the one place that builds the resolver, fetcher, email
sender and storage from the settings, and every service from those, so
`gondulf serve` and every admin command talk to DNS, SMTP, the web and the
database in exactly the same way.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from functools import cached_property

from gondulf.config import Settings
from gondulf.errors import DatabaseError
from gondulf.services.bookkeeping import Bookkeeping
from gondulf.services.domains import DomainService
from gondulf.services.health import HealthMonitor
from gondulf.services.metrics import Metrics
from gondulf.services.outside.client_info import ClientInfoService
from gondulf.services.outside.dns import DnsService, build_resolver
from gondulf.services.outside.email import EmailSender
from gondulf.services.outside.fetch import Fetcher, FetchPolicy
from gondulf.services.passkeys import PasskeyService
from gondulf.services.rate_limits import AbuseLimits, RateLimiter
from gondulf.services.signin import proofs
from gondulf.services.signin.email_code import EmailCodeMethod, EmailProof
from gondulf.services.signin.flow import SignIn
from gondulf.services.signin.sessions import AuthSessionStore
from gondulf.services.tokens.authorization_codes import AuthorizationCodeService
from gondulf.services.tokens.grants import GrantsService
from gondulf.services.tokens.issuing import TokenService
from gondulf.services.tokens.redemption import Redemption
from gondulf.services.tokens.resource_servers import ResourceServerService
from gondulf.storage.records import BUSY, OK
from gondulf.storage.repositories import Store
from gondulf.storage.sqlite.database import server_lock
from gondulf.storage.sqlite.migrations import apply_migrations
from gondulf.storage.sqlite.store import SQLiteStore


class Services:
    """Every service, each built once, on first use, from the same parts."""

    def __init__(
        self,
        settings: Settings,
        dns: DnsService,
        fetcher: Fetcher,
        email: EmailSender,
        store: Store | None,
        metrics: Metrics,
    ) -> None:
        self.settings = settings
        self.dns = dns
        self.fetcher = fetcher
        self.email = email
        self._store = store
        self.metrics = metrics
        self.limits = AbuseLimits.from_settings(settings.limits)
        self.bookkeeping = Bookkeeping()

    @property
    def store(self) -> Store:
        if self._store is None:
            raise DatabaseError("this command was started without the database")
        return self._store

    @cached_property
    def domains(self) -> DomainService:
        return DomainService(self.store.domains, self.dns)

    @cached_property
    def health(self) -> HealthMonitor:
        return HealthMonitor(self.store)

    @cached_property
    def limiter(self) -> RateLimiter:
        return RateLimiter(self.store.limits, self.metrics)

    @cached_property
    def clients(self) -> ClientInfoService:
        return ClientInfoService(self.fetcher, self.store.clients)

    @cached_property
    def tokens(self) -> TokenService:
        return TokenService(self.store, self.bookkeeping, self.metrics)

    @cached_property
    def codes(self) -> AuthorizationCodeService:
        return AuthorizationCodeService(self.store.codes)

    @cached_property
    def resource_servers(self) -> ResourceServerService:
        return ResourceServerService(self.store.resource_servers, self.bookkeeping)

    @cached_property
    def grants(self) -> GrantsService:
        return GrantsService(self.store.grants_sessions, self.store.tokens, self.tokens)

    @cached_property
    def passkeys(self) -> PasskeyService:
        return PasskeyService(
            self.settings, self.store.passkeys, self.store.passkey_challenges, self.metrics
        )

    @cached_property
    def redemption(self) -> Redemption:
        return Redemption(self.store, self.tokens, self.settings)

    @cached_property
    def signin(self) -> SignIn:
        sessions = AuthSessionStore(
            self.store.sessions, proofs.loader(**{EmailProof.METHOD: EmailProof.from_json})
        )
        email_code = EmailCodeMethod(
            self.settings,
            sessions=sessions,
            limiter=self.limiter,
            limits=self.limits,
            email=self.email,
            metrics=self.metrics,
        )
        return SignIn(
            self.settings,
            sessions=sessions,
            codes=self.codes,
            limiter=self.limiter,
            limits=self.limits,
            domains=self.domains,
            fetcher=self.fetcher,
            email_code=email_code,
            metrics=self.metrics,
        )


async def require_writable(services: Services) -> None:
    """Refuse to serve on a database that cannot be written (a full disk answers reads)."""
    health = await services.store.health(int(time.time()))
    if health.write not in (OK, BUSY):
        raise DatabaseError(
            f"cannot write to the database {services.settings.database_path.absolute()}: "
            f"{health.write}"
        )


def fetch_policy(settings: Settings) -> FetchPolicy:
    return FetchPolicy.development() if settings.debug else FetchPolicy.production()


@asynccontextmanager
async def open_services(
    settings: Settings,
    *,
    database: bool = True,
    migrate: bool = False,
    create: bool = False,
    hold_lock: bool = False,
    client_ssl_context: ssl.SSLContext | None = None,
    metrics: Metrics | None = None,
) -> AsyncIterator[Services]:
    """Open what the settings describe; `client_ssl_context` overrides the trusted CAs,
    `metrics` is where the services count (the server's, served at /metrics).

    Only `create` (the server, `gondulf migrate`) may create the database: any other
    command run where there is none fails, naming where it looked, rather than work
    on a new empty one. `hold_lock` (the server) holds a shared lock on the database
    for as long as it runs, so `gondulf restore` can tell that a server is using it.
    """
    metrics = metrics or Metrics()
    async with AsyncExitStack() as stack:
        store = None
        if database and not create and not settings.database_path.exists():
            raise DatabaseError(
                f"there is no database at {settings.database_path}: run `gondulf migrate` "
                "(or `gondulf serve`) to create it, or point GONDULF_DATABASE_URL at yours"
            )
        if hold_lock:
            stack.enter_context(server_lock(settings.database_path))
        if database:
            store = await SQLiteStore.open(settings.database_path, on_busy=metrics.database_busy)
            stack.push_async_callback(store.close)
            if migrate:
                await apply_migrations(store.database)
        dns_service = DnsService(build_resolver(settings.dns_nameservers, settings.dns_timeout))
        fetcher = await Fetcher.open(
            dns_service, fetch_policy(settings), ssl_context=client_ssl_context
        )
        stack.push_async_callback(fetcher.close)
        email = EmailSender(
            settings.smtp, debug=settings.debug, tls_context=client_ssl_context, metrics=metrics
        )
        services = Services(settings, dns_service, fetcher, email, store, metrics)
        stack.push_async_callback(services.bookkeeping.drain)  # before the store closes
        yield services
