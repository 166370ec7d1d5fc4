"""What the server counts, for Prometheus (served at GET /metrics when GONDULF_METRICS=true).

Each Metrics has a registry of its own, never prometheus_client's global one, so two
applications in one process count apart. Each process counts on its own: with
`serve --workers N` a scrape sees the counters of whichever worker answered it.

Services are handed a Metrics by the composition root and call its methods; they never
touch prometheus_client. Every label value comes from a closed set (route names, HTTP
methods, Problem kinds, limit names, outcomes), never from what a client sent, so the
number of series stays bounded.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)

from gondulf import __version__

# Seconds: a token check takes about a millisecond, a sign-in step waiting on DNS, a
# homepage or SMTP up to GONDULF_PAGE_TIMEOUT.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED = "unmatched"  # the route label of a request no route matched (404, 405)


class Metrics:
    def __init__(self) -> None:
        registry = self.registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        Info("gondulf", "The version of Gondulf running.", registry=registry).info(
            {"version": __version__}
        )
        self._requests = Counter(
            "gondulf_http_requests",
            "HTTP requests answered, by route name, method and status.",
            ("route", "method", "status"),
            registry=registry,
        )
        self._durations = Histogram(
            "gondulf_http_request_duration_seconds",
            "Time from a request reaching Gondulf's handlers to its response, by route name "
            "and method.",
            ("route", "method"),
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._answered: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._signins_started = Counter(
            "gondulf_signins_started", "Sign-ins started.", registry=registry
        )
        self._codes_sent = Counter(
            "gondulf_signin_codes_sent", "Sign-in codes emailed.", registry=registry
        )
        self._code_checks = Counter(
            "gondulf_signin_code_checks",
            "Sign-in codes entered, by result: right, wrong, exhausted (no tries left) or expired.",
            ("result",),
            registry=registry,
        )
        self._signins_completed = Counter(
            "gondulf_signins_completed",
            "Sign-ins that ended with the person proven and consenting (an authorization "
            "code issued, or the grants page opened).",
            registry=registry,
        )
        self._signins_failed = Counter(
            "gondulf_signins_failed",
            "Sign-in steps that failed, by reason (the problem shown to the person).",
            ("reason",),
            registry=registry,
        )
        self._emails_sent = Counter(
            "gondulf_emails_sent", "Emails the SMTP server accepted.", registry=registry
        )
        self._emails_failed = Counter(
            "gondulf_emails_failed", "Emails that could not be sent.", registry=registry
        )
        tokens_issued = Counter(
            "gondulf_tokens_issued",
            "Tokens issued, by kind (access, refresh).",
            ("kind",),
            registry=registry,
        )
        self._access_issued = tokens_issued.labels("access")
        self._refresh_issued = tokens_issued.labels("refresh")
        tokens_verified = Counter(
            "gondulf_tokens_verified",
            "Tokens checked (GET /token, userinfo, introspection), by result (active, inactive).",
            ("result",),
            registry=registry,
        )
        self._active = tokens_verified.labels("active")
        self._inactive = tokens_verified.labels("inactive")
        self._tokens_revoked = Counter(
            "gondulf_tokens_revoked",
            "Tokens revoked: by an app, a person, an operator, or for a reused code or "
            "refresh token.",
            registry=registry,
        )
        self._refusals = Counter(
            "gondulf_rate_limit_refusals",
            "Requests refused by an abuse limit, by limit name (GONDULF_LIMIT_*).",
            ("limit",),
            registry=registry,
        )
        self._database_busy = Counter(
            "gondulf_database_busy",
            "Database calls that gave up waiting for the database (answered 503).",
            registry=registry,
        )

    def request_answered(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = OTHER_METHOD
        key = (route, method, status)
        counted = self._answered.get(key)
        if counted is None:
            counted = self._answered[key] = (
                self._requests.labels(route, method, str(status)),
                self._durations.labels(route, method),
            )
        counted[0].inc()
        counted[1].observe(seconds)

    def signin_started(self) -> None:
        self._signins_started.inc()

    def code_sent(self) -> None:
        self._codes_sent.inc()

    def code_checked(self, result: str) -> None:
        self._code_checks.labels(result).inc()

    def signin_completed(self) -> None:
        self._signins_completed.inc()

    def signin_failed(self, reason: str) -> None:
        self._signins_failed.labels(reason).inc()

    def email_sent(self) -> None:
        self._emails_sent.inc()

    def email_failed(self) -> None:
        self._emails_failed.inc()

    def tokens_issued(self, *, access: int = 0, refresh: int = 0) -> None:
        self._access_issued.inc(access)
        self._refresh_issued.inc(refresh)

    def token_checked(self, active: bool) -> None:
        (self._active if active else self._inactive).inc()

    def tokens_revoked(self, count: int) -> None:
        self._tokens_revoked.inc(count)

    def refused(self, limit: str) -> None:
        self._refusals.labels(limit).inc()

    def database_busy(self) -> None:
        self._database_busy.inc()
