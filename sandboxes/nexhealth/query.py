"""The query parameters of one NexHealth request, read the way NexHealth reads them.

Unknown parameters are ignored with one warning each (first-seen order), as are unknown
``include[]`` values; the warnings become the envelope's ``description``. A parameter given
twice: the last value wins. Empty values count as not given. Booleans accept
``true``/``false``/``1``/``0`` (case-insensitive), or, ``truthy``, any value given as true
(the ``query_booleans="truthy"`` reading: Express's and Flask's truthy query strings).
"""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from starlette.datastructures import QueryParams

from sandboxes.nexhealth.paging import paging
from sandboxes.toolkit.errors import ApiError

__all__ = ["INCLUDES", "QueryParameters"]

#: What ``include[]`` may embed in an appointment.
INCLUDES = ("patient", "appointment_type")

_BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


class QueryParameters:
    """Typed getters over one request's query parameters; each raises ``ApiError`` (400) on a bad value.

    An ``ApiError``'s detail is always the list of messages of the error envelope.
    """

    def __init__(self, params: QueryParams, known: frozenset[str], *, truthy: bool = False) -> None:
        self.params = params
        self.truthy = truthy
        seen = dict.fromkeys(params.keys())
        self.warnings = [f"Ignored unknown parameter: {name}" for name in seen if name not in known]

    def get(self, name: str) -> str | None:
        value = self.params.get(name)
        if value is None:
            return None
        return value.strip() or None

    def require(self, *names: str) -> None:
        """400 with one message per missing parameter, all at once."""
        missing = [name for name in names if self.get(name) is None]
        if missing:
            raise ApiError(400, [f"Missing required parameter: {name}" for name in missing])

    def integer(self, name: str) -> int | None:
        value = self.get(name)
        if value is None:
            return None
        if not (value.isascii() and value.isdigit()):
            raise ApiError(400, [f"{name} must be an integer"])
        return int(value)

    def boolean(self, name: str) -> bool | None:
        value = self.get(name)
        if value is None:
            return None
        if self.truthy:
            return True
        parsed = _BOOLEANS.get(value.lower())
        if parsed is None:
            raise ApiError(400, [f"{name} must be true or false"])
        return parsed

    def instant(self, name: str) -> datetime:
        """An ISO 8601 date-time; a naive value or a bare date is UTC."""
        value = self.get(name) or ""
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise ApiError(400, [f"{name} must be an ISO 8601 date-time"]) from None
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed

    def paging(self) -> tuple[int, int]:
        """The page number and page size asked for (lenient: bad values mean the defaults)."""
        return paging(self.get("page"), self.get("per_page"))

    def includes(self) -> tuple[str, ...]:
        """The known ``include[]`` values, in ``INCLUDES`` order; a warning for each unknown one."""
        names = [value.strip() for value in self.params.getlist("include[]") if value.strip()]
        self.warnings += [f"Ignored unknown include: {name}" for name in dict.fromkeys(names) if name not in INCLUDES]
        return tuple(name for name in INCLUDES if name in names)

    def description(self) -> bytes:
        """The envelope's ``description``: the warnings, serialized."""
        return orjson.dumps(self.warnings)
