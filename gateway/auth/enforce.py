"""Authorization applied to requests: what a caller's grants mean for one interaction.

- No grant for the type and permission: 403.
- Grants confined to the launch patient (`patient/` scopes) narrow a search to that patient
  before any vendor call: a search naming another patient is answered empty without asking
  the vendor, one naming none is narrowed to the launch patient. A read of another patient is
  a 404 before any vendor call; a read of a record outside the compartment is a 404 worded
  as for a record that does not exist (SMART: from outside, forbidden looks like missing).
- Granular constraints (`?category=…`, and `?_id=…` or `?patient=…` alike: search parameters,
  never the compartment) are added to a search when one grant applies, so the vendor and the
  gateway's filter see them like the client's own; several grants are applied to each result
  (any one admitting it), so the answer is the unrestricted answer filtered by the scopes,
  exactly: what a search returns is what reads of the same records allow.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.auth.decision import Caller, Grant, confined_to, grants
from gateway.auth.scopes import Context, Permission
from gateway.contract import Resource, ResourceSupport
from gateway.contract.provider import Read
from gateway.errors import FHIRError, Forbidden, Gone, InvalidRequest, NotFound
from gateway.search.match import matches
from gateway.search.model import SearchQuery
from gateway.search.parse import CONTROL, parse_search

log = logging.getLogger("gateway.auth")

Items = list[tuple[str, str]]
_VERB = {
    Permission.CREATE: "create",
    Permission.READ: "read",
    Permission.UPDATE: "update",
    Permission.DELETE: "delete",
    Permission.SEARCH: "search",
}
_PATIENT_PARAMS = ("patient", "subject")


@dataclass(frozen=True)
class Access:
    """What a caller may reach of one type through one permission."""

    resource_type: str
    grants: tuple[Grant, ...]
    queries: tuple[SearchQuery, ...] | None  # None: every resource of the type

    @property
    def patient(self) -> str | None:
        """The one patient this access is confined to, if it is."""
        return confined_to(self.grants) if self.queries is not None else None

    def admits(self, resource: Mapping[str, Any]) -> bool:
        return self.queries is None or any(matches(resource, q) for q in self.queries)


def _contexts_of(caller: Caller) -> list[str]:
    """The scope contexts to suggest: those the caller's token already uses (a backend service
    holds `system/` scopes, SMART App Launch 2.0 section 3.0.2), else `patient/` and `user/`."""
    used = {scope.context for scope in caller.scopes.resource}
    return [c.value for c in Context if c in used] or [Context.PATIENT.value, Context.USER.value]


def access(caller: Caller, support: ResourceSupport, permission: Permission, zone: str = "UTC") -> Access:
    """The caller's access to `support.type` for `permission`, or 403 when it has none."""
    found = grants(caller, support.type, permission)
    if not found and caller.patient is None:
        unanchored = [s for s in caller.scopes.resource if s.context is Context.PATIENT]
        if any(s.covers(support.type, permission) for s in unanchored):
            # Its patient/ scope would do, but reaches nothing without a launch patient: to
            # suggest that very scope would send the client in circles.
            raise Forbidden(
                f"The access token's patient/ scopes reach only its launch patient, and it names none "
                f"(no patient claim holding one FHIR id): {_VERB[permission]} on {support.type} is not allowed"
            )
    if not found:
        wanted = " or ".join(f"{context}/{support.type}.{permission.value}" for context in _contexts_of(caller))
        raise Forbidden(
            f"The access token's scopes do not allow {_VERB[permission]} on {support.type} (a scope such as {wanted})"
        )
    if all(not g.params for g in found):
        return Access(support.type, found, None)
    queries: list[SearchQuery] = []
    usable: list[Grant] = []  # the grants that admit something: a dropped one confines nothing
    for grant in found:
        try:
            # SMART App Launch 2.0 section 3.0.2.3: a constraint is a search parameter that
            # filters; a result parameter (`_count`, `_summary`, `_elements`, `_sort`...) filters
            # nothing, and added to the client's search it would change its answer's shape.
            result_params = sorted({name for name, _ in grant.constraints if name.partition(":")[0] in CONTROL})
            if result_params:
                raise InvalidRequest(f"{', '.join(result_params)} is not a filter")
            # A filter over results, not a search sent anywhere: the type's required parameters
            # (the search's own business) do not apply.
            parsed = parse_search(
                support, grant.params, strict=True, default_count=1, max_count=1, zone=zone, require=False
            )
        except FHIRError:
            # A constraint this type cannot evaluate admits nothing, never everything. Named by
            # its parameters only: a scope's values can name a patient, and none is logged.
            names = ",".join(sorted({name for name, _ in grant.constraints}))
            log.warning("a %s scope constrained by %s cannot be evaluated; it grants nothing", support.type, names)
            continue
        queries.append(parsed.query)
        usable.append(grant)
    if not queries:
        raise Forbidden(f"The access token's scopes for {support.type} have constraints this server cannot apply")
    return Access(support.type, tuple(usable), tuple(queries))


def not_found(resource_type: str, resource_id: str) -> NotFound:
    """The answer for a record the caller may not see, worded as for one that does not exist."""
    return NotFound(f"{resource_type}/{resource_id} does not exist")


def check_instance_id(reach: Access, resource_id: str) -> None:
    """A Patient other than the launch patient is missing to a confined caller: no vendor call."""
    patient = reach.patient
    if patient is not None and reach.resource_type == "Patient" and resource_id != patient:
        raise not_found("Patient", resource_id)


async def read_within(reach: Access, read: Read, resource_id: str) -> Resource:
    """`read(resource_id)`, as the caller may see it: a record outside its reach, or one whose
    reach cannot be shown (deleted), is a 404 worded as for a missing record."""
    check_instance_id(reach, resource_id)
    if reach.queries is None:
        return await read(resource_id)
    try:
        resource = await read(resource_id)
    except Gone:
        if reach.resource_type == "Patient":
            raise  # the launch patient's own record (checked above)
        raise not_found(reach.resource_type, resource_id) from None
    except NotFound:
        raise not_found(reach.resource_type, resource_id) from None
    if not reach.admits(resource):
        raise not_found(reach.resource_type, resource_id)
    return resource


def narrow_search(reach: Access, items: Sequence[tuple[str, str]]) -> tuple[Items, bool] | None:
    """The search's parameters with the caller's confinement and constraints added, and whether
    results must still be filtered one by one (several grants, or a constraint held back); None
    when the search can only name records the caller may not see (answer empty, no vendor call)."""
    narrowed = list(items)
    if reach.queries is None:
        return narrowed, False
    patient = reach.patient
    names = ("_id",) if reach.resource_type == "Patient" else _PATIENT_PARAMS
    if patient is not None:
        restricted: Items = []
        named = False
        for name, value in narrowed:
            if _names_patient(name, names):
                named = True
                kept = [v for v in value.split(",") if _patient_id(v) == patient]
                if not kept:
                    return None
                restricted.append((name, ",".join(kept)))
            else:
                restricted.append((name, value))
        narrowed = restricted
        if not named:
            narrowed.append((names[0], patient))
    if len(reach.grants) == 1:
        # The compartment was applied above; the scope's constraints are ANDed to the client's
        # parameters, `_id` ones too. Once: the page links repeat what was added, and adding it
        # again on the next page would make another search of it (its paging token would be
        # refused).
        constraints = reach.grants[0].constraints
        by_patient = [] if reach.resource_type == "Patient" else [c for c in constraints if _names_patient(c[0])]
        narrowed += [c for c in constraints if c not in by_patient and c not in narrowed]
        filtered = False
        for name, value in by_patient:
            # One naming the patient of a record (`patient`, `subject`) is added to a search that
            # names no patient; added to one that names others, it would ask for two patients
            # at once, which a vendor listing records per patient cannot (a 400 where the answer
            # is nothing): there it adds nothing when every patient named is allowed, makes the
            # answer empty when none is, and is applied to each result otherwise.
            asked = {_patient_id(v) for n, values in narrowed if _names_patient(n) for v in values.split(",")}
            allowed = {_patient_id(v) for v in value.split(",")}
            if not asked:
                narrowed.append((name, value))
            elif not asked & allowed:
                return None
            elif not asked <= allowed:
                filtered = True
        return narrowed, filtered
    return narrowed, True


def _names_patient(name: str, names: tuple[str, ...] = _PATIENT_PARAMS) -> bool:
    """Whether search parameter `name` names a patient by id (`patient`, `subject:Patient`, ...)."""
    base, _, modifier = name.partition(":")
    return base in names and modifier in ("", "Patient")


def _patient_id(reference: str) -> str:
    """`P`, `Patient/P` or `https://…/Patient/P` → `P`; a reference to another type → ''."""
    if "/" not in reference:
        return reference
    kind, _, identifier = reference.rstrip("/").rpartition("/")
    return identifier if kind.rpartition("/")[2] == "Patient" else ""
