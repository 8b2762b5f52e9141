"""How the gateway treats one vendor connection that fails: retries and the circuit breaker.

Plain data (a tenant's configuration carries it to its adapter's HTTP client, which applies it:
gateway.upstream.http). Defaults after Envoy's and resilience4j's: at most 3 attempts with
capped exponential backoff and full jitter, retries adding at most 20 % to the vendor's load;
a breaker that opens on half the calls of a 10-second window failing (20 calls at least) or on
5 failures in a row, and lets one probe through after 5 seconds.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # including the first
    base_delay: float = 0.05  # seconds: the first backoff step's ceiling
    max_delay: float = 1.0
    budget_ratio: float = 0.2  # retries per original call, over time
    budget_burst: float = 10.0  # retries that may be spent at once


@dataclass(frozen=True)
class BreakerPolicy:
    window: float = 10.0  # seconds of calls the failure ratio is taken over
    min_calls: int = 20
    failure_ratio: float = 0.5
    consecutive: int = 5
    open_for: float = 5.0  # seconds before a probe is let through


@dataclass(frozen=True)
class Resilience:
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
