"""A conditional create whose `If-None-Exist` cannot select the patient Nextvisit stores (pure).

R4 http.html#ccreate: the condition is what finds the record when the request is sent again
(one match: 200 with it). Nextvisit keeps names and the birth date in its own fields and the
rest of a Patient (identifiers of other systems, telecom, gender) in the record's free-form
`meta` (`patient.patient_from_fhir`), which a vendor may drop unsaid (Rails' strong parameters
permitting `:meta` as a scalar). A condition the patient as stored does not meet (an MRN kept
nowhere, a family name other than the one sent) never finds it again, and Nextvisit has no
duplicate check: each repeat would make another patient. Such a create is refused, as Dental
PMS refuses one on a chart number it does not keep (mappings/dentalpms/patient_create.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from gateway.errors import Unprocessable, UpstreamUnusable
from gateway.search.match import matches
from gateway.search.model import SearchParam, SearchQuery, TokenValue

__all__ = ["unconfirmed_create", "unmet_terms", "unselectable_condition"]

NOTHING_WRITTEN = "nothing was written"
MADE_AND_DELETED = "the patient made (Patient/{id}) was deleted again"


def unmet_terms(condition: SearchQuery | None, stored: Mapping[str, Any]) -> tuple[str, ...]:
    """The terms of the create's `condition` that do not select the Patient `stored`, each named
    by its parameter (`_named`: never its values); none without a condition. Each term is tried
    alone: the terms are ANDed, so any one unmet leaves the record unselected."""
    if condition is None:
        return ()
    return tuple(_named(term) for term in condition.params if not matches(stored, replace(condition, params=(term,))))


def unselectable_condition(unmet: tuple[str, ...], outcome: str) -> Unprocessable:
    """The 422 refusing a create whose If-None-Exist holds the `unmet` terms; `outcome` says
    what became of the patient (NOTHING_WRITTEN, or MADE_AND_DELETED)."""
    return Unprocessable(
        f"If-None-Exist selects by {' and '.join(unmet)}, which the patient as this Nextvisit stores it does "
        "not meet (names and the birth date are kept in its own fields, the rest only in its record's meta, "
        "which not every Nextvisit keeps): the same request sent again would not find it and would make "
        f"another (R4 http.html#ccreate); {outcome}. Send the create without that condition, or with one on "
        "the name and birthdate",
        expression="If-None-Exist",
    )


def unconfirmed_create(unmet: tuple[str, ...], found_id: str) -> UpstreamUnusable:
    """The answer to a conditional create Nextvisit made without naming the patient, where the
    newest patient of its names and birth date (Patient/`found_id`, looked up) does not meet the
    `unmet` terms: that may be an older namesake (a list behind the writes), so nothing is
    deleted, and the patient made cannot be told. A 502 `processing`, not a 201: a Location
    naming the namesake would be wrong, and a 201 would let the client hold it as the patient
    made. `processing` ("no point resubmitting the same content unchanged", R4
    valueset-issue-type): sent again, the condition would not find the patient made either."""
    return UpstreamUnusable(
        f"Nextvisit created the patient without saying which, and the newest patient of the same names and "
        f"birth date (Patient/{found_id}) does not meet If-None-Exist ({' and '.join(unmet)}): it may be "
        "another, older patient, so nothing was deleted, and the patient made may not be selectable by that "
        "condition (R4 http.html#ccreate). Search by name and birth date before sending the create again, "
        "without that condition or with one on the name and birthdate"
    )


def _named(term: SearchParam) -> str:
    """A term as the diagnostics name it: its parameter and modifier, and for an identifier the
    systems it names; never its values (an MRN, a name, a birth date, a phone: PHI, which
    messages never carry, DESIGN), as Dental PMS names them (create_conditions._named)."""
    name = f"{term.name}:{term.modifier}" if term.modifier else term.name
    systems = sorted({v.system for v in term.values if isinstance(v, TokenValue) and v.system})
    return f"{name} ({', '.join(systems)})" if term.name == "identifier" and systems else name
