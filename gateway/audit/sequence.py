"""The audit sequence: one count for every worker and replica, so that their trails merge in
order and a missing line shows as a gap.

Counted in the shared state, a number costs a round trip to it (on Redis, about as much CPU as
the vendor call of a read). So a process keeps at most one count in flight: lines that come
while it is out wait, and the next count (`INCRBY` their number) numbers them all, in the order
they came. A busy worker makes one round trip per batch instead of one per line, an idle one a
round trip per line as before. The numbers stay unique across all sharers, and consecutive but
where a line was never written: its request was cancelled after its count, or a count timed out
after the state had made it (a gap of the whole batch, where one count per line left one).
In one process (no shared state) each line is counted directly.
"""

from __future__ import annotations

import asyncio
import contextvars

from gateway.shared.state import SharedState, SharedStateUnavailable

KEY = "audit:sequence"


class AuditSequence:
    def __init__(self, state: SharedState) -> None:
        self._state = state
        self._direct = state.kind == "in-process"  # no round trip to save
        self._waiting: list[asyncio.Future[int]] = []
        self._counting: asyncio.Task[None] | None = None

    async def next(self) -> int:
        """The next number; raises what the shared state raises (SharedStateUnavailable)."""
        if self._direct:
            return await self._state.incr(KEY)
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(waiter)
        if self._counting is None:
            # In a context of its own: the request that happened to start it must not lend its
            # request id and trace span to the counts it makes for others.
            self._counting = asyncio.get_running_loop().create_task(self._count(), context=contextvars.Context())
        return await waiter

    async def _count(self) -> None:
        batch: list[asyncio.Future[int]] = []
        try:
            while self._waiting:
                batch = [waiter for waiter in self._waiting if not waiter.done()]  # not the cancelled
                self._waiting = []
                if not batch:
                    continue
                try:
                    last = await self._state.incr(KEY, len(batch))
                except Exception as exc:  # every line of the batch goes without a number
                    for waiter in batch:
                        if not waiter.done():
                            error = SharedStateUnavailable()
                            error.__cause__ = exc
                            waiter.set_exception(error)
                    continue
                # A waiter cancelled meanwhile (its client left) leaves its number unused, as a
                # request cancelled during a single count always could.
                for number, waiter in enumerate(batch, last - len(batch) + 1):
                    if not waiter.done():
                        waiter.set_result(number)
        except asyncio.CancelledError:  # the loop is shutting down: nobody is left waiting for ever
            for waiter in batch + self._waiting:
                waiter.cancel()
            self._waiting = []
            raise
        finally:
            self._counting = None
