"""The audit sequence: one count for every worker and replica, so that their trails merge in
order and a missing line shows as a gap.

Counted in the shared state, a number costs a round trip to it (on Redis, about as much CPU as
the vendor call of a read). So a process keeps at most one count in flight: lines that come
while it is out wait, and the next count (`INCRBY` their number) numbers them all, in the order
they came. A busy worker makes one round trip per batch instead of one per line, an idle one a
round trip per line as before; the numbers stay unique and consecutive across all sharers.
In one process (no shared state) each line is counted directly.
"""

from __future__ import annotations

import asyncio

from gateway.shared.state import SharedState

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
            self._counting = asyncio.ensure_future(self._count())
        return await waiter

    async def _count(self) -> None:
        batch: list[asyncio.Future[int]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    last = await self._state.incr(KEY, len(batch))
                except Exception as exc:  # every line of the batch goes without a number
                    for waiter in batch:
                        if not waiter.done():
                            waiter.set_exception(exc)
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
