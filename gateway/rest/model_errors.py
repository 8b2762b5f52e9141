"""The FHIR model's validation errors in words a client can act on.

pydantic's own messages name its internals: "Value error, DateTime value string does not match
spec regex.", a pattern with raw line breaks in it, or "Datetimes provided to dates should have
zero time" for a number sent as a date (read as a Unix time). Each is said here in FHIR's terms
(R4 datatypes.html for the primitive types; json.html: primitives are JSON strings, never
empty). The value sent is not repeated: the element's FHIRPath names it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SPEC_REGEX = re.compile(r"(\w+) value string does not match spec regex\.?")
# fhir.resources' class names of the primitive types, by FHIR's names for them
_PRIMITIVES = {"Date": "date", "DateTime": "dateTime", "Decimal": "decimal", "Instant": "instant", "Time": "time"}
_TEMPORAL_KINDS = ("date", "datetime", "time", "timezone")


def model_error_text(error: Mapping[str, Any]) -> str:
    """One of `ValidationError.errors()`, as the words after its element's FHIRPath."""
    kind = error["type"]
    message = str(error["msg"]).removeprefix("Value error, ")
    given: Any = error.get("input")
    spec = _SPEC_REGEX.fullmatch(message)
    if spec is not None:
        name = _PRIMITIVES.get(spec[1], spec[1])
        return f"not a valid FHIR {name} (R4 datatypes.html#{name})"
    if kind.startswith(_TEMPORAL_KINDS) and not isinstance(given, str):
        return "must be a JSON string (FHIR dates and times are strings)"
    if kind == "string_pattern_mismatch":
        if given == "":
            return "must not be empty: leave the element out instead (R4 json.html#primitive)"
        pattern = str((error.get("ctx") or {}).get("pattern", ""))
        return f"does not match the pattern {pattern!r} its type requires"
    return message
