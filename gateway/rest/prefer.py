"""The `Prefer` request header (RFC 7240) as FHIR uses it: `handling` and `return`.

http://hl7.org/fhir/R4/http.html#prefer (return=minimal|representation|OperationOutcome) and
http://hl7.org/fhir/R4/search.html#errors (handling=strict|lenient). Preferences are separated
by commas (or, as some clients send them, semicolons); names are case-insensitive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[;,]")


@dataclass(frozen=True)
class Prefer:
    handling: str = "lenient"  # strict: unknown or unsupported search parameters are errors
    return_: str = "representation"  # minimal | representation | OperationOutcome

    @property
    def strict(self) -> bool:
        return self.handling == "strict"


def parse_prefer(header: str | None) -> Prefer:
    handling, returned = "lenient", "representation"
    for part in _SEPARATORS.split(header or ""):
        name, _, value = part.strip().partition("=")
        name, value = name.strip().lower(), value.strip().strip('"')
        if name == "handling" and value in ("strict", "lenient"):
            handling = value
        elif name == "return" and value in ("minimal", "representation", "OperationOutcome"):
            returned = value
    return Prefer(handling, returned)
