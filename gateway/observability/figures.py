"""Recent figures per tenant, kept in memory for the probes and the status page: the last good
vendor answer, error rate and p95 latency over the last few minutes, breaker state, rate-limit
waits and refusals, the last token renewal.

Prometheus has the same events as counters and histograms, but answering "is this tenant
healthy now?" from them needs a query engine; these small rings answer it in-process.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

Clock = Callable[[], float]
RECENT_SECONDS = 300.0  # "recent" on the status page: the last five minutes
_RING = 2048  # samples kept per ring: enough for a p95, bounded under any load


@dataclass(frozen=True)
class Summary:
    count: int
    error_rate: float | None  # None when there was nothing to count
    p95_seconds: float | None


class Recent:
    """(time, seconds, failed) samples of the last `RECENT_SECONDS`, at most `_RING` of them."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, float, bool]] = deque(maxlen=_RING)

    def add(self, seconds: float, failed: bool) -> None:
        self._samples.append((self._clock(), seconds, failed))

    def summary(self) -> Summary:
        since = self._clock() - RECENT_SECONDS
        recent = [(seconds, failed) for at, seconds, failed in list(self._samples) if at >= since]
        if not recent:
            return Summary(0, None, None)
        durations = sorted(seconds for seconds, _ in recent)
        # Nearest-rank percentile: the smallest sample with 95% of samples at or below it.
        p95 = durations[max(0, math.ceil(0.95 * len(durations)) - 1)]
        return Summary(len(recent), sum(failed for _, failed in recent) / len(recent), p95)


class Count:
    """Events of the last `RECENT_SECONDS` (rate-limit waits, refusals, vendor 429s)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._times: deque[float] = deque(maxlen=_RING)

    def add(self) -> None:
        self._times.append(self._clock())

    def recent(self) -> int:
        since = self._clock() - RECENT_SECONDS
        return sum(1 for at in list(self._times) if at >= since)


@dataclass
class TenantFigures:
    clock: Clock
    requests: Recent = field(init=False)  # what clients of this tenant saw (5xx as failures)
    vendor: Recent = field(init=False)  # each vendor call attempt
    breaker: str = "closed"
    last_ok: float | None = None  # the last vendor answer (any status below 500), on `clock`
    last_failure: float | None = None
    last_error: str | None = None  # its kind: connect, timeout, status, refused
    last_renewal: float | None = None  # the last successful token renewal, wall-clock time
    renewal_failed: bool = False  # the last renewal attempt failed (an OAuth grant refused, ...)
    rate_limit_waits: Count = field(init=False)
    rate_limit_refusals: Count = field(init=False)
    vendor_throttled: Count = field(init=False)

    def __post_init__(self) -> None:
        self.requests = Recent(self.clock)
        self.vendor = Recent(self.clock)
        self.rate_limit_waits = Count(self.clock)
        self.rate_limit_refusals = Count(self.clock)
        self.vendor_throttled = Count(self.clock)


class Figures:
    """Every tenant's figures, created on first mention (names come from the configuration
    and the upstream code, never from a client)."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self.clock = clock
        self._tenants: dict[str, TenantFigures] = {}

    def tenant(self, name: str) -> TenantFigures:
        found = self._tenants.get(name)
        if found is None:
            found = self._tenants[name] = TenantFigures(self.clock)
        return found
