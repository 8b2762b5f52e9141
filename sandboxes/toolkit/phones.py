"""US phone numbers for display: the clinic stores 10 bare digits, vendors show ``(312) 555-0142``."""

from __future__ import annotations

from typing import overload

__all__ = ["format_us_phone"]


@overload
def format_us_phone(digits: str) -> str: ...
@overload
def format_us_phone(digits: None) -> None: ...
@overload
def format_us_phone(digits: str | None) -> str | None: ...
def format_us_phone(digits: str | None) -> str | None:
    """``3125550142`` -> ``(312) 555-0142``; anything not 10 characters long is returned as is."""
    if digits is None or len(digits) != 10:
        return digits
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}"
