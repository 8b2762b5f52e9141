"""The access decision: what a caller's scopes let it do with one resource type.

Pure: a caller (its client, tenants, scopes and launch-context patient) and an action (type,
permission) in, the grants that apply out. Each grant is a set of search parameters a resource
must meet to be reachable through it; a resource is reachable when any grant admits it:

- a `user/` or `system/` scope admits every resource of its type the constraints admit;
- a `patient/` scope admits only the launch-context patient's compartment (SMART App Launch
  2.0.0: "patient-specific scopes ... for the current patient"): the Patient itself (`_id`)
  or resources whose `patient` is that patient, and of those the ones its constraints admit.
  Without a `patient` claim it admits nothing.

A scope's constraints are search parameters (SMART App Launch 2.0.0, "finer-grained resource
constraints using search parameters"), `_id` and `patient` as much as `category`: ANDed with
the compartment, never taken for it. `user/Encounter.rs?_id=20` reaches Encounter 20, not the
records of a patient 20; `patient/Encounter.rs?patient=20` reaches what is both the launch
patient's and patient 20's (nothing, unless 20 is the launch patient).

The REST layer turns grants into query conditions before any vendor call (gateway.auth.enforce).
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.auth.scopes import Context, Permission, ResourceScope, Scopes

Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Caller:
    """Who is asking, as their access token says."""

    client_id: str
    subject: str | None  # the user (`sub`/`fhirUser`), absent for system clients
    scopes: Scopes
    patient: str | None = None  # SMART launch context `patient`
    tenants: frozenset[str] = frozenset()  # tenants the client may use
    issuer: str = ""  # who issued the token

    @property
    def key(self) -> str:
        """What binds a paging token (and a `$everything` record kept for its pages) to its
        caller: the issuer, client, user and patient, and the scopes granted, so that another
        token of the same client with narrower scopes cannot follow it."""
        scopes = " ".join(sorted(s.text for s in self.scopes.resource))
        return "\x1f".join((self.issuer, self.client_id, self.subject or "", self.patient or "", scopes))


ANONYMOUS = Caller("anonymous", None, Scopes((), (), ()))


@dataclass(frozen=True)
class Grant:
    """Resources of one type a scope makes reachable: those meeting every one of `params`."""

    constraints: Params  # the scope's own search-parameter constraints (its `?…`)
    scope: str  # the scope it comes from (for audit and messages)
    compartment: tuple[str, str] | None = None  # a `patient/` scope's: `_id` or `patient` = the launch patient

    @property
    def params(self) -> Params:
        """Every condition a resource must meet: the compartment's, then the constraints; ()
        admits every resource of the type."""
        return self.constraints if self.compartment is None else (self.compartment, *self.constraints)

    @property
    def patient(self) -> str | None:
        """The launch patient a `patient/` grant confines to (None for `user/` and `system/`)."""
        return self.compartment[1] if self.compartment is not None else None


def grants(caller: Caller, resource_type: str, permission: Permission) -> tuple[Grant, ...]:
    """The grants through which `caller` may do `permission` on `resource_type`; () is none."""
    found: list[Grant] = []
    for scope in caller.scopes.resource:
        if not scope.covers(resource_type, permission):
            continue
        grant = _grant(scope, resource_type, caller.patient)
        if grant is not None:
            found.append(grant)
    if any(not g.params for g in found):  # one unconditional grant makes the others moot
        return tuple(g for g in found if not g.params)[:1]
    return tuple(dict.fromkeys(found))


def confined_to(found: tuple[Grant, ...]) -> str | None:
    """The one launch patient every grant confines to (so a query can be narrowed to it before
    any vendor call), or None when some grant is a `user/` or `system/` one. Only a compartment
    confines: a constraint naming `_id` or `patient` is a condition like any other."""
    patients = {g.patient for g in found}
    return patients.pop() if len(patients) == 1 else None


def _grant(scope: ResourceScope, resource_type: str, patient: str | None) -> Grant | None:
    if scope.context is not Context.PATIENT:
        return Grant(scope.constraints, scope.text)
    if not patient:  # no launch patient: a patient/ scope reaches nothing
        return None
    compartment = ("_id", patient) if resource_type == "Patient" else ("patient", patient)
    return Grant(scope.constraints, scope.text, compartment)
