"""The default clock of the simulators that stamp writes with aware datetimes.

``create_app(..., clock=None)`` uses the wall clock; tests pass a fixed one so stamps
(``created_at``, ``updated_at``, "today") are repeatable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

__all__ = ["Clock", "wall_clock"]

#: Returns the current instant as an aware datetime.
Clock: TypeAlias = Callable[[], datetime]


def wall_clock() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)
