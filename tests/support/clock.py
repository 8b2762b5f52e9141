"""Clocks a test moves by hand, for code that takes its clock as a callable."""

from __future__ import annotations

import time
from typing import Generic, TypeVar

T = TypeVar("T")


class SetClock(Generic[T]):
    """Says `now`, which stays put until a test sets it (a float timestamp or a datetime)."""

    def __init__(self, now: T) -> None:
        self.now = now

    def __call__(self) -> T:
        return self.now


class OffsetClock:
    """Real time plus `offset`, which a test can push forward (for a server in another thread)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset
