"""A conditional create whose `If-None-Exist` cannot select the patient NexHealth would store (pure).

R4 http.html#ccreate: the condition is what finds the record when the request is sent again
(one match: 200 with it). NexHealth keeps one name, one email, one phone, the birth date and the
gender of what is sent (`patient.patient_from_fhir`), and assigns the ids itself: no identifier
sent is stored (its chart number is the practice system's, set once NexHealth inserts the
patient there). A condition on anything else (an MRN, say) never selects the patient made, so
each repeat would make another, or meet NexHealth's duplicate refusal (409) instead of the 200
with the record it made. Such a create is refused before anything is sent, as Dental PMS
refuses one on a chart number it does not keep (mappings/dentalpms/patient_create.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gateway.errors import Unprocessable
from gateway.search.match import matches
from gateway.search.model import SearchParam, SearchQuery, TokenValue

__all__ = ["unmet_terms", "unselectable_condition"]


def unmet_terms(condition: SearchQuery | None, stored: Mapping[str, Any]) -> tuple[str, ...]:
    """The terms of the create's `condition` that do not select the Patient `stored` (the record as
    the vendor would hold it), each named by its parameter (`_named`: never its values); none
    without a condition. Each term is tried alone: the condition's terms are ANDed, so any one
    unmet leaves the record unselected."""
    if condition is None:
        return ()
    return tuple(_named(term) for term in condition.params if not matches(stored, replace(condition, params=(term,))))


def unselectable_condition(unmet: tuple[str, ...]) -> Unprocessable:
    """The 422 refusing a create whose If-None-Exist holds the `unmet` terms (`unmet_terms`)."""
    return Unprocessable(
        f"If-None-Exist selects by {' and '.join(unmet)}, which the patient NexHealth would store does not "
        "meet (NexHealth keeps one name, one email, one phone, the birth date and the gender, and assigns "
        "its own ids: no identifier sent is stored): the same request sent again would not find it "
        "(R4 http.html#ccreate); nothing was written. Send the create without that condition, or with one "
        "on what NexHealth keeps as sent (email, name, birthdate)",
        expression="If-None-Exist",
    )


def _named(term: SearchParam) -> str:
    """A term as the diagnostics name it: its parameter and modifier, and for an identifier the
    systems it names; never its values (an MRN, a name, a birth date, a phone: PHI, which
    messages never carry, DESIGN), as Dental PMS names them (create_conditions._named)."""
    name = f"{term.name}:{term.modifier}" if term.modifier else term.name
    systems = sorted({v.system for v in term.values if isinstance(v, TokenValue) and v.system})
    return f"{name} ({', '.join(systems)})" if term.name == "identifier" and systems else name
