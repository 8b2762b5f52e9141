"""The mapping helpers every vendor's mappers share (mappings/fhirjson.py)."""

from __future__ import annotations

from mappings.fhirjson import compact


def test_compact_drops_every_empty_element_an_empty_string_included() -> None:
    # R4 json.html#primitive: a string has a character at least; a vendor may write "" for a
    # text never set (Go's zero string), which would otherwise reach the client as an element.
    kept = {"city": "Austin", "active": False, "count": 0, "line": ["1 Main St"]}
    assert compact({**kept, "district": "", "state": None, "period": {}, "postalCode": [], "text": ""}) == kept
