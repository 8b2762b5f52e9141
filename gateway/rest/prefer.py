"""The `Prefer` request header (RFC 7240) as FHIR uses it: `handling` and `return`.

http://hl7.org/fhir/R4/http.html#prefer (return=minimal|representation|OperationOutcome) and
http://hl7.org/fhir/R4/search.html#errors (handling=strict|lenient). Preferences are separated
by commas (or, as some clients send them, semicolons), in one header or several; names are
case-insensitive, and the first of a preference given twice wins (RFC 7240 §2).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[;,]")


@dataclass(frozen=True)
class Prefer:
    handling: str = "lenient"  # strict: unknown or unsupported search parameters are errors
    return_: str = "representation"  # minimal | representation | OperationOutcome

    @property
    def strict(self) -> bool:
        return self.handling == "strict"


_KNOWN = {"handling": ("strict", "lenient"), "return": ("minimal", "representation", "OperationOutcome")}


def parse_prefer(headers: Iterable[str]) -> Prefer:
    """The preferences of every `Prefer` header line of a request."""
    chosen: dict[str, str] = {}
    for header in headers:
        for part in _SEPARATORS.split(header):
            name, _, value = part.strip().partition("=")
            name, value = name.strip().lower(), value.strip().strip('"')
            if name in _KNOWN and name not in chosen and value in _KNOWN[name]:
                chosen[name] = value
    return Prefer(chosen.get("handling", "lenient"), chosen.get("return", "representation"))
