"""Retries of vendor calls: only what is safe to repeat, within a budget and a deadline.

A call is retried when it is idempotent (GET/HEAD, or a write carrying an `Idempotency-Key`
the vendor honours) and it failed in a way another attempt may not (connection error, timeout,
HTTP 500/502/503/504). Attempts are spaced by capped exponential backoff with full jitter
(tenacity's `wait_random_exponential`), never past the connection's total deadline, and drawn
from a retry budget: each original call earns `budget_ratio` of a retry, so retries add at most
that share to a failing vendor's load (gRPC's retry throttling; Envoy's retry budgets).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, stop_after_delay, wait_random_exponential

from gateway.contract.resilience import RetryPolicy

T = TypeVar("T")
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
    # retry machinery. Only a failure another attempt may cure goes on to tenacity.
    # The budget is spent last: a retry the deadline stops is never sent, and must not use up
    # one another call could have sent.
    try:
        first = await call()
    except Exception as exc:
        if policy.attempts <= 1 or not should_retry(None, exc) or not _time_left(started, deadline):
            raise
        if not budget.spend():
            raise
    else:
        if policy.attempts <= 1 or not should_retry(first, None) or not _time_left(started, deadline):
            return first
        if not budget.spend():
            return first

    def retry_wanted(state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:
            return False
        error = outcome.exception()
        answer = None if error is not None else outcome.result()
        if state.attempt_number >= policy.attempts - 1 or not _time_left(started, deadline):
            return False  # what `stop` would end: the last outcome is the answer, no retry spent
        return should_retry(answer, error) and budget.spend()

    await asyncio.sleep(random.uniform(0, policy.base_delay))  # the first backoff step, full jitter
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts - 1) | stop_after_delay(deadline - (time.monotonic() - started)),
        wait=wait_random_exponential(multiplier=policy.base_delay * 2, max=policy.max_delay),
        retry=retry_wanted,
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
        reraise=True,
    )
    result: T = await retrying(call)
    return result


def _time_left(started: float, deadline: float) -> bool:
    return time.monotonic() - started < deadline
