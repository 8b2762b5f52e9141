"""Whether a conditional create's `If-None-Exist` can select the patient the Dental PMS would store.

R4 http.html#ccreate: the server creates only when the condition selects nothing, so a client
(or the gateway's own retry) sending the request again relies on the condition finding what the
first one made. A condition the record as the vendor stores it cannot meet finds nothing the
next time as well: every repeat makes another patient. The vendor keeps no identifier but its
own patient id (which it gives a new patient itself) and the chart number; so a condition on an
MRN, on a chart number the body does not carry (the vendor gives one of its own), on the id, or
on anything the body does not hold as it would be stored, is refused before anything is written
(422), each such parameter named with why. A condition the stored patient would meet (a family
name and birth date sent, the chart number sent) is taken as before.

The patient as it would be stored is the create body read back as the vendor answers a patient
(`patient.patient_to_fhir`), with what only the vendor gives (its id, version) left unknown;
each parameter is tested on it alone (gateway.search.match, as the gateway tests a record
created against its condition)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gateway.contract import TenantContext
from gateway.errors import Unprocessable
from gateway.search.match import matches
from gateway.search.model import SearchParam, SearchQuery, TokenValue
from mappings.dentalpms.patient import patient_to_fhir

__all__ = ["unselecting_condition"]

# Stands for the id the vendor will give the patient: no id a client can know before the create.
_UNKNOWN_ID = "(not yet given)"


def unselecting_condition(
    condition: SearchQuery | None, fields: dict[str, Any], ctx: TenantContext
) -> Unprocessable | None:
    """The refusal of a create whose `condition` could not select the patient the create body
    `fields` (`patient_write.patient_for_create`) would be stored as (module docstring); None
    when it could, or when there is no condition."""
    if condition is None:
        return None
    stored = _as_stored(fields, ctx)
    reasons = [
        f"its {_named(param)} parameter: {_why(param, fields, ctx)}"
        for param in condition.params
        if param.name == "_id"
        or not matches(stored, SearchQuery(condition.resource_type, (param,), zone=condition.zone))
    ]
    if not reasons:
        return None
    return Unprocessable(
        "If-None-Exist could not select the patient this create would make, as the Dental PMS would store it "
        f"({'; '.join(reasons)}): the same request sent again would not find it and would make another "
        "patient; nothing was written. Send the create with a condition on what the patient is stored with "
        "(its chart number, sent in the body; its name and birth date), or without one"
    )


def _as_stored(fields: dict[str, Any], ctx: TenantContext) -> dict[str, Any]:
    """The patient `fields` describe as a read would answer it just after the create."""
    now = datetime.now(UTC).isoformat()
    record = {"status": "active", **fields, "id": _UNKNOWN_ID, "version": None, "updated_at": now}
    return patient_to_fhir(record, ctx)


def _named(param: SearchParam) -> str:
    """A parameter as the diagnostics name it: its name and modifier, and for an identifier the
    systems it names (never the values: an MRN is the client's, and PHI)."""
    name = f"{param.name}:{param.modifier}" if param.modifier else param.name
    systems = sorted({v.system for v in param.values if isinstance(v, TokenValue) and v.system})
    return f"{name} ({', '.join(systems)})" if param.name == "identifier" and systems else name


def _why(param: SearchParam, fields: dict[str, Any], ctx: TenantContext) -> str:
    if param.name == "_id":
        return "the Dental PMS gives a new patient its id itself"
    if param.name != "identifier" or param.modifier is not None:
        return "the body does not hold what it names as the Dental PMS would store it, or it is not stored at all"
    chart_system = ctx.system("chart-number")
    systems = {v.system for v in param.values if isinstance(v, TokenValue)}
    if chart_system not in systems and None not in systems:
        return (
            "the Dental PMS stores no identifier of that system, only its own chart numbers "
            f"({chart_system}) and patient ids"
        )
    if not fields.get("chart_number"):
        return "the body carries no chart number, and the Dental PMS would give the patient one of its own"
    return "the chart number the body carries is not the one it names"
