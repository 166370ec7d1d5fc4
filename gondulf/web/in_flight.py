"""At most a few requests of one client that fetch from the web are answered at once.

Checking a website or an app fetches from the outside world and may wait the
fetcher's whole timeout on a slow or hostile site. A client with more of
these in flight is refused at once (429), so one network cannot hold the
fetcher's shared connections however many sites it points Gondulf at.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from gondulf.services.signin.problems import Problem, SignInProblem

MAX_IN_FLIGHT = 2
RETRY_AFTER = 5


class InFlight:
    def __init__(self, per_client: int = MAX_IN_FLIGHT) -> None:
        self._per_client = per_client
        self._counts: dict[str, int] = {}

    @contextlib.contextmanager
    def hold(self, client: str) -> Iterator[None]:
        if self._counts.get(client, 0) >= self._per_client:
            raise SignInProblem(
                Problem.BUSY,
                "Still checking your last request",
                f"{self._per_client} sign-ins from your network are being checked right now.",
                "Wait a few seconds and try again.",
                status=429,
                retry_after=RETRY_AFTER,
            )
        self._counts[client] = self._counts.get(client, 0) + 1
        try:
            yield
        finally:
            self._counts[client] -= 1
            if not self._counts[client]:
                del self._counts[client]
