"""Scalar types for vendor reader models, for what every vendor's docs leave open about a
value's JSON type: `Text` is a string in NFC (the form the gateway serves, gateway.text), and a
number sent where text is documented (a phone, a postal code, a chart number) is its decimal
text. Anything else is left to the model's own type check, which refuses it."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any

from pydantic import BeforeValidator


def text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return value


Text = Annotated[str | None, BeforeValidator(text)]
