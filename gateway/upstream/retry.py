"""Retries of vendor calls: only what is safe to repeat, within a budget and a deadline.

A call is retried when it is idempotent (GET/HEAD, or a write carrying an `Idempotency-Key`
the vendor honours) and it failed in a way another attempt may not (connection error, timeout,
HTTP 500/502/503/504). Attempts are spaced by capped exponential backoff with full jitter
(tenacity's `wait_random_exponential`), never past the connection's total deadline: a retry is
sent only when, after its backoff, at least `MIN_ATTEMPT` of the deadline is left for it. Retries
are drawn from a retry budget: each original call earns `budget_ratio` of a retry, so retries add at most
that share to a failing vendor's load (gRPC's retry throttling; Envoy's retry budgets).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_random_exponential

from gateway.contract.resilience import RetryPolicy

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Seconds of the deadline a retry must have after its backoff to be worth sending: less is no
# fair chance for a vendor call (a connection, then an answer in the usual tens of
# milliseconds), and a retry cut short by the deadline adds load and costs the budget for nothing.
MIN_ATTEMPT = 0.1


class RetryBudget:
    def __init__(self, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self._ratio = policy.budget_ratio
        self._burst = policy.budget_burst
        self._tokens = policy.budget_burst
        self.retries = 0
        self.calls = 0

    def earn(self) -> None:
        """An original call was made: it earns a share of a retry."""
        self.calls += 1
        self._tokens = min(self._burst, self._tokens + self._ratio)

    def spend(self) -> bool:
        """Take one retry from the budget, if there is one."""
        if self._tokens < 1:
            return False
        self._tokens -= 1
        self.retries += 1
        return True


def idempotent(method: str, headers: Mapping[str, str]) -> bool:
    return method.upper() in IDEMPOTENT_METHODS or any(k.lower() == "idempotency-key" for k in headers)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    budget: RetryBudget,
    deadline: float,
    should_retry: Callable[[T | None, BaseException | None], bool],
) -> T:
    """`call()` until it succeeds, may not be retried, or attempts, budget or deadline run out.
    The last answer (or error) is what the caller gets."""
    budget.earn()
    started = time.monotonic()
    # The first attempt directly: almost every call succeeds, and it need not pay for the
    # retry machinery (not even drawing a backoff). Only a failure another attempt may cure
    # goes on to tenacity. Whether a retry is worth sending is decided with its backoff already
    # drawn (the deadline must leave it `MIN_ATTEMPT` after the wait), and the budget is spent
    # last: a retry that is not sent must not use up one another call could have sent.
    try:
        first = await call()
    except Exception as exc:
        if policy.attempts <= 1 or not should_retry(None, exc):
            raise
        pause = random.uniform(0, policy.base_delay)  # the first backoff step, full jitter
        if not _time_left(started, deadline, pause) or not budget.spend():
            raise
    else:
        if policy.attempts <= 1 or not should_retry(first, None):
            return first
        pause = random.uniform(0, policy.base_delay)
        if not _time_left(started, deadline, pause) or not budget.spend():
            return first

    backoff = wait_random_exponential(multiplier=policy.base_delay * 2, max=policy.max_delay)

    planned = [0.0]  # the backoff `retry_wanted` drew and judged, which `wait` then takes

    def retry_wanted(state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:
            return False
        error = outcome.exception()
        answer = None if error is not None else outcome.result()
        if state.attempt_number >= policy.attempts - 1:
            return False  # what `stop` would end: the last outcome is the answer, no retry spent
        planned[0] = backoff(state)
        if not _time_left(started, deadline, planned[0]):
            return False
        return should_retry(answer, error) and budget.spend()

    await asyncio.sleep(pause)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts - 1),
        wait=lambda state: planned[0],
        retry=retry_wanted,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        reraise=True,
    )
    result: T = await retrying(call)
    return result


def _time_left(started: float, deadline: float, pause: float) -> bool:
    """Whether a retry sent after `pause` seconds would still have `MIN_ATTEMPT` of the deadline."""
    return time.monotonic() - started + pause + MIN_ATTEMPT <= deadline
