"""A time zone named in configuration: an IANA name (`America/Chicago`), checked when the
configuration is read, for the gateway's settings and any vendor's options alike."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone '{value}' (use an IANA name such as America/New_York)") from None
    return value


ZoneName = Annotated[str, AfterValidator(_known_zone)]
