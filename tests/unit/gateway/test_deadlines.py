"""One timer for every request's deadline (gateway.rest.deadlines)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.rest.deadlines import DeadlinePassed, Deadlines


@pytest.mark.slow
def test_each_request_is_cut_at_its_own_deadline_and_no_sooner() -> None:
    async def scenario() -> list[str]:
        # Margins of 0.15 s and more: a busy machine's scheduling delays must not decide it.
        deadlines = Deadlines(0.6)
        outcomes: list[str] = []

        async def request(name: str, seconds: float, after: float) -> None:
            await asyncio.sleep(after)
            try:
                await deadlines.within(asyncio.sleep(seconds))
                outcomes.append(f"{name} answered")
            except DeadlinePassed:
                outcomes.append(f"{name} cut")

        await asyncio.gather(
            request("quick", 0.15, 0.0),  # done before the shared timer fires for it
            request("slow", 3.0, 0.3),  # its deadline comes after the first one's: the timer moves on
            request("in time", 0.3, 0.45),  # answered at 0.75 s, its deadline 1.05 s
        )
        return outcomes

    assert asyncio.run(scenario()) == ["quick answered", "in time answered", "slow cut"]


def test_a_cancellation_of_another_cause_is_not_taken_for_the_deadline() -> None:
    async def scenario() -> None:
        deadlines = Deadlines(10.0)
        task = asyncio.ensure_future(deadlines.within(asyncio.sleep(5)))
        await asyncio.sleep(0.01)
        task.cancel()  # a client gone, a sibling failed: the request's own cancellation
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
