"""Checking a simulator switch against the `Literal` alias that lists its readings."""

from __future__ import annotations

from typing import Any, TypeVar, get_args

Value = TypeVar("Value")


def one_of(name: str, value: Value, readings: Any) -> Value:
    """`value` if it is one of the `Literal` alias `readings`; else a ValueError naming `name`.

    A misspelt switch must stop the simulator at construction: played silently as some
    other reading, it would make a test pass against a vendor nobody described.
    """
    allowed = get_args(readings)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, not {value!r}")
    return value
