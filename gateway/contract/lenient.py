"""Scalar types for vendor reader models, for what every vendor's docs leave open about a
value's JSON type: `Text` is a string, and a number sent where text is documented (a phone, a
postal code, a chart number) is its decimal text. Anything else (a boolean, a list, an object)
is refused by the model's own type check.

The conversion is pydantic-core's own (`coerce_numbers_to_str`), not a Python validator: a
patient has some twenty text fields, read on every request. Vendor text is put in NFC where
it enters the gateway, as the answer is parsed (gateway.upstream.http).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

Text = Annotated[str | None, Field(coerce_numbers_to_str=True)]
