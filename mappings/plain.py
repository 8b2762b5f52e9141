"""A read model as the mappers read it: `model_dump()`'s dict, without its copies.

`model_dump()` rebuilds every value: each field's, and each list and object of the vendor's JSON
kept as it came (fields typed `Any`, undeclared fields). A mapper only reads a record, and the
FHIR it builds already shares parts that are never changed (mappings/fhirjson.py, the code
blocks of each mapper), so those copies bought nothing: rebuilding a patient of seventy fields
cost more than mapping it. `plain` gives the same keys and values: declared fields by name, in
order, a nested model as its own plain dict (alone, or in lists and dicts), then the undeclared
fields; JSON values read as they are are the same objects the model holds, not copies. What
writes a record back (an edit of a vendor record) keeps `model_dump()`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mappings.drift_scan import nesting_fields


def plain(model: BaseModel) -> dict[str, Any]:
    out = dict(model.__dict__)
    for name in nesting_fields(type(model)):
        out[name] = _plain_value(out[name])
    extra = model.__pydantic_extra__
    if extra:
        out.update(extra)
    return out


def _plain_value(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return plain(value)
    if isinstance(value, list):
        return [_plain_value(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_plain_value(item) for item in value)
    if isinstance(value, dict):
        return {key: _plain_value(item) for key, item in value.items()}
    return value
