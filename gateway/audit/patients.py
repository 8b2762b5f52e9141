"""The patients an audit line names: those whose data the request was served, or asked for.

R4 AuditEvent.entity is "specific instances of data or objects that have been accessed"
(http://hl7.org/fhir/R4/auditevent.html); the IHE Basic Audit Log Patterns give a read or a
query of a patient's data an entity for its patient (BALP PatientRead, PatientQuery:
https://profiles.ihe.net/ITI/BALP/StructureDefinition/IHE.BasicAudit.PatientRead), so that an
accounting of disclosures finds every request that reached a patient's record. A line names
up to MAX_PATIENTS of them (gateway.audit.events: one line per request, one pipe write). So the
patient entities come from what the gateway did, never from query text: a parameter the
interaction ignored is the client's word, and would let it name any patient while it read another.

- The path names its patient whatever the outcome (gateway.audit.events): `Patient/X` and its
  operations, a patient CCD `Binary/ccd-p….X`. A refused request names what it asked for, as
  asked, like the path's own entity does: a refused attempt on a record is what an auditor
  looks for.
- A handler adds the patients a parameter it takes names, once it has parsed them (a search's
  `patient`/`subject` condition, the `$docref` patient): as asked, whatever then comes of the
  request (a search of several patients the vendor cannot search at once is refused, and names
  them all); and the patients of what it served (a search's results, the subject of a resource
  read, the patient of a rendered CCD): `record_patients`. A request refused while its
  parameters are read (one unknown under strict handling, a malformed value) names only its
  path's patient.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from gateway.audit.scope_keys import AUDIT_PATIENT
from gateway.search.parse import is_fhir_id

# The fields through which a resource names its patient (R4: `subject` on Observation,
# Condition, Encounter, DocumentReference...; `patient` on AllergyIntolerance, Immunization...;
# `beneficiary` on Coverage; a Binary's `securityContext`, R4 binary.html).
_PATIENT_FIELDS = ("subject", "patient", "beneficiary", "securityContext")


def record_patients(scope: MutableMapping[str, Any], patients: Iterable[str | None]) -> None:
    """Adds `patients` (ids; None and what is no id are skipped) to those the request's audit
    line names, in order, once each."""
    found = scope.get(AUDIT_PATIENT)
    named: dict[str, None] = found if isinstance(found, dict) else {}
    for patient in patients:
        if patient is not None and patient not in named and is_fhir_id(patient):  # a page: one patient, often
            named[patient] = None
    scope[AUDIT_PATIENT] = named


def recorded_patients(scope: Mapping[str, Any]) -> tuple[str, ...]:
    found = scope.get(AUDIT_PATIENT)
    return tuple(found) if isinstance(found, dict) else ()


def patient_of(resource: Mapping[str, Any]) -> str | None:
    """The patient a served resource is, or belongs to: a Patient's id, or the `Patient/[id]`
    its subject (or patient, beneficiary, securityContext) refers to. Only a relative reference:
    an absolute one names a patient of another server, whose id means nothing here."""
    if resource.get("resourceType") == "Patient":
        found = resource.get("id")
        return found if isinstance(found, str) else None
    for field in _PATIENT_FIELDS:
        value = resource.get(field)
        reference = value.get("reference") if isinstance(value, dict) else None
        if isinstance(reference, str) and reference.startswith("Patient/"):
            return reference[len("Patient/") :]
    return None
