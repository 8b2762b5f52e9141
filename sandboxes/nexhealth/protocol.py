"""The versioned ``Accept`` header every NexHealth request must send (vendor-docs/nexhealth-getting-started.txt)."""

from __future__ import annotations

__all__ = ["ACCEPT", "VERSION_ERROR", "accepts_v2"]

#: The Accept header every request must send.
ACCEPT = "application/vnd.Nexhealth+json;version=2"
#: The one 400 message for a missing or unsupported version.
VERSION_ERROR = f"Missing or unsupported API version. Send Accept: {ACCEPT}"

_MEDIA_TYPE = "application/vnd.nexhealth+json"


def accepts_v2(accept: str | None) -> bool:
    """Whether an ``Accept`` header asks for version 2: media type case-insensitive, one entry of a list is enough."""
    if not accept:
        return False
    for entry in accept.split(","):
        media, *params = entry.split(";")
        if media.strip().lower() != _MEDIA_TYPE:
            continue
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "version" and value.strip().strip('"') == "2":
                return True
    return False
