"""How a benchmark run ends early: set-up failures, and Ctrl-C / SIGTERM turned into a flag."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class SetupError(Exception):
    """The benchmark could not be set up; nothing was measured."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop at the next request and clean up."""


class StopFlag:
    """SIGINT/SIGTERM handler: the load generator polls it before each request.

    A flag rather than a KeyboardInterrupt thrown at an arbitrary point (or asyncio's task
    cancellation, which aiohttp can swallow): the run stops within one request, at a point of
    our choosing, and the `finally` in bench.run.main() stops the servers.
    """

    def __init__(self) -> None:
        self.raised = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.raised = True

    def is_set(self) -> bool:
        return self.raised

    def check(self) -> None:
        if self.raised:
            raise Interrupted


STOP = StopFlag()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Route SIGINT and SIGTERM to STOP while the block runs; restore the old handlers after."""
    previous = {sig: signal.signal(sig, STOP) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
