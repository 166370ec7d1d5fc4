"""What the server counts, for Prometheus (served at GET /metrics when GONDULF_METRICS=true).

Each Metrics has a registry of its own, never prometheus_client's global one, so two
applications in one process count apart. Each process counts on its own: with
`serve --workers N` a scrape sees the counters of whichever worker answered it.

Services are handed a Metrics by the composition root and call its methods; they never
touch prometheus_client. Every label value comes from a closed set (route names, HTTP
methods, Problem kinds, limit names, outcomes), never from what a client sent, so the
number of series stays bounded.

Counting happens on every request, so it is plain dictionary arithmetic: everything is
counted and scraped on the event loop's one thread, which needs no locks (the library's
own metric objects take a lock per increment). prometheus_client turns the counts into
its metric families when /metrics is read.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, PlatformCollector, ProcessCollector
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gondulf import __version__

# Seconds: a token check takes about a millisecond, a sign-in step waiting on DNS, a
# homepage or SMTP up to GONDULF_PAGE_TIMEOUT.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BUCKET_LABELS = (*(str(float(bound)) for bound in DURATION_BUCKETS), "+Inf")  # `le` values
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED = "unmatched"  # the route label of a request no route matched (404, 405)

# name: (help, label names, label values counted from the start)
COUNTERS: dict[str, tuple[str, tuple[str, ...], tuple[tuple[str, ...], ...]]] = {
    "gondulf_signins_started": ("Sign-ins started.", (), ((),)),
    "gondulf_signin_codes_sent": ("Sign-in codes emailed.", (), ((),)),
    "gondulf_signin_code_checks": (
        "Sign-in codes entered, by result: right, wrong, exhausted (no tries left) or expired.",
        ("result",),
        (("right",), ("wrong",), ("exhausted",), ("expired",)),
    ),
    "gondulf_signins_completed": (
        "Sign-ins that ended with the person proven and consenting (an authorization code "
        "issued, or the grants page opened).",
        (),
        ((),),
    ),
    "gondulf_signins_failed": (
        "Sign-in steps that failed, by reason (the problem shown to the person).",
        ("reason",),
        (),
    ),
    "gondulf_emails_sent": ("Emails the SMTP server accepted.", (), ((),)),
    "gondulf_emails_failed": ("Emails that could not be sent.", (), ((),)),
    "gondulf_tokens_issued": (
        "Tokens issued, by kind (access, refresh).",
        ("kind",),
        (("access",), ("refresh",)),
    ),
    "gondulf_tokens_verified": (
        "Tokens checked (GET /token, userinfo, introspection), by result (active, inactive).",
        ("result",),
        (("active",), ("inactive",)),
    ),
    "gondulf_tokens_revoked": (
        "Tokens revoked: by an app, a person, an operator, or for a reused code or refresh token.",
        (),
        ((),),
    ),
    "gondulf_rate_limit_refusals": (
        "Requests refused by an abuse limit, by limit name (GONDULF_LIMIT_*).",
        ("limit",),
        (),
    ),
    "gondulf_passkeys_registered": ("Passkeys registered.", (), ((),)),
    "gondulf_passkey_signins": ("Sign-ins proven with a passkey.", (), ((),)),
    "gondulf_passkey_refusals": (
        "Passkey registrations and sign-ins refused, by reason (bad-origin, "
        "counter-regression, user-not-verified, ...).",
        ("reason",),
        (),
    ),
    "gondulf_database_busy": (
        "Database calls that gave up waiting for the database (answered 503).",
        (),
        ((),),
    ),
}


class Timing:
    """One route's histogram: how many requests fell in each bucket (not cumulative), and
    their total seconds."""

    __slots__ = ("in_bucket", "seconds")

    def __init__(self) -> None:
        self.in_bucket = [0] * len(BUCKET_LABELS)
        self.seconds = 0.0


class Metrics(Collector):
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.registry.register(self)
        self._counts = {
            name: dict.fromkeys(initial, 0) for name, (_, _, initial) in COUNTERS.items()
        }
        self._answered: dict[tuple[str, str, int], int] = {}
        self._timings: dict[tuple[str, str], Timing] = {}
        self._checks = self._counts["gondulf_tokens_verified"]  # on every token check

    def _add(self, name: str, labels: tuple[str, ...] = (), amount: int = 1) -> None:
        series = self._counts[name]
        series[labels] = series.get(labels, 0) + amount

    def request_answered(self, route: str, method: str, status: int, seconds: float) -> None:
        if method not in METHODS:
            method = OTHER_METHOD
        key = (route, method, status)
        self._answered[key] = self._answered.get(key, 0) + 1
        timing = self._timings.get((route, method))
        if timing is None:
            timing = self._timings[(route, method)] = Timing()
        timing.in_bucket[bisect.bisect_left(DURATION_BUCKETS, seconds)] += 1
        timing.seconds += seconds

    def signin_started(self) -> None:
        self._add("gondulf_signins_started")

    def code_sent(self) -> None:
        self._add("gondulf_signin_codes_sent")

    def code_checked(self, result: str) -> None:
        self._add("gondulf_signin_code_checks", (result,))

    def signin_completed(self) -> None:
        self._add("gondulf_signins_completed")

    def signin_failed(self, reason: str) -> None:
        self._add("gondulf_signins_failed", (reason,))

    def email_sent(self) -> None:
        self._add("gondulf_emails_sent")

    def email_failed(self) -> None:
        self._add("gondulf_emails_failed")

    def tokens_issued(self, *, access: int = 0, refresh: int = 0) -> None:
        self._add("gondulf_tokens_issued", ("access",), access)
        self._add("gondulf_tokens_issued", ("refresh",), refresh)

    def token_checked(self, active: bool) -> None:
        self._checks[("active",) if active else ("inactive",)] += 1

    def tokens_revoked(self, count: int) -> None:
        self._add("gondulf_tokens_revoked", (), count)

    def refused(self, limit: str) -> None:
        self._add("gondulf_rate_limit_refusals", (limit,))

    def passkey_registered(self) -> None:
        self._add("gondulf_passkeys_registered")

    def passkey_signed_in(self) -> None:
        self._add("gondulf_passkey_signins")

    def passkey_refused(self, reason: str) -> None:
        self._add("gondulf_passkey_refusals", (reason,))

    def database_busy(self) -> None:
        self._add("gondulf_database_busy")

    def collect(self) -> Iterator[Metric]:
        """The counts as Prometheus metric families (called by the registry on a scrape)."""
        yield InfoMetricFamily(
            "gondulf", "The version of Gondulf running.", {"version": __version__}
        )
        requests = CounterMetricFamily(
            "gondulf_http_requests",
            "HTTP requests answered, by route name, method and status.",
            labels=("route", "method", "status"),
        )
        for (route, method, status), count in self._answered.items():
            requests.add_metric((route, method, str(status)), count)
        yield requests
        durations = HistogramMetricFamily(
            "gondulf_http_request_duration_seconds",
            "Time from a request reaching Gondulf's handlers to its response, by route name "
            "and method.",
            labels=("route", "method"),
        )
        for (route, method), timing in self._timings.items():
            cumulative = itertools.accumulate(timing.in_bucket)
            durations.add_metric(
                (route, method), list(zip(BUCKET_LABELS, cumulative, strict=True)), timing.seconds
            )
        yield durations
        for name, (documentation, labels, _) in COUNTERS.items():
            family = CounterMetricFamily(name, documentation, labels=labels)
            for values, count in self._counts[name].items():
                family.add_metric(values, count)
            yield family
