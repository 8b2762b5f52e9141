"""``PatientRow``: one patient as the Dental PMS holds it, plus its derived search data.

The row keeps the patient document (``PatientOut``), the reference its sub-records share,
the sub-records themselves, the encoded document, and the text the list and typeahead
searches match against, as the app's search reading (``readings``) compares it: folded
by default; with ``search_phones="as_stored"`` (or ``"e164"``) the phones are text fields too.
``refresh`` re-derives all of it after a write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from sandboxes.dentalpms.readings import DOCUMENTED, SearchReading
from sandboxes.toolkit.aliases import JsonObject
from sandboxes.toolkit.rows import Row

__all__ = ["PatientRow", "digits_in"]


def digits_in(text: str) -> str:
    """The digits of `text` (any Unicode digit), in order: what phone search compares."""
    return "".join(ch for ch in text if ch.isdigit())


@dataclass(eq=False)
class PatientRow(Row):
    """A patient document, its sub-records, and what search and sorting derive from it."""

    ref: JsonObject  # the patient reference shared by its sub-records (renamed in place)
    allergies: list[JsonObject] = field(default_factory=list)
    medications: list[JsonObject] = field(default_factory=list)
    vitals: list[JsonObject] = field(default_factory=list)
    diseases: list[JsonObject] = field(default_factory=list)
    raw: bytes = b""  # the encoded document
    hay: tuple[str, ...] = ()  # fields the list ``search`` matches, as `reading` compares them
    name_hay: tuple[str, ...] = ()  # fields ``/patients/search`` matches, likewise
    phones: tuple[str, ...] = ()  # digits of the mobile and home phone (when matched by digits)
    reading: SearchReading = DOCUMENTED

    def refresh(self) -> None:
        """Re-derive everything from ``doc`` after it changed."""
        doc = self.doc
        doc["scheduling_restricted"] = doc["status"] == "inactive"
        self.ref["name"] = f"{doc['first_name']} {doc['last_name']}"
        self.raw = orjson.dumps(doc)
        names = [doc["first_name"], doc["middle_name"], doc["last_name"], doc["preferred_name"]]
        reading = self.reading
        self.name_hay = tuple(
            reading.stored(value)
            for value in (doc["first_name"], doc["last_name"], doc["preferred_name"], doc["chart_number"])
            if value
        )
        searched = (*names, doc["email"], doc["chart_number"], doc["date_of_birth"])
        phones = [value for value in (doc["mobile_phone"], doc["home_phone"]) if value]
        if reading.phones in ("as_stored", "e164"):
            self.hay = tuple(reading.stored(value) for value in (*searched, *phones) if value)
            self.phones = ()
        else:
            self.hay = tuple(reading.stored(value) for value in searched if value)
            self.phones = tuple(digits_in(value) for value in phones)

    @property
    def id(self) -> str:
        return str(self.doc["id"])
