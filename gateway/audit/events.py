"""An audit line, shaped as a FHIR R4 AuditEvent (http://hl7.org/fhir/R4/auditevent.html).

Who (the token's client and subject), what (the interaction, the resource type and id, and the
patient a search or operation names), when, the outcome, and the request id. Never a name, a
birth date or any other query value: only ids, which the gateway's own URLs already show.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from gateway.auth.decision import Caller
from gateway.search.parse import is_fhir_id

AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
AUDIT_PATIENT = "fhir.audit.patient"  # request scope key: the patient a handler resolved the request to
INTERACTION = "http://hl7.org/fhir/restful-interaction"
ENTITY_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_TYPE = re.compile(r"[A-Z][A-Za-z]{1,63}")
# AuditEvent.action: C create, R read/vread/search, U update, D delete, E execute (operations)
_ACTION = {
    "read": "R",
    "vread": "R",
    "search-type": "E",
    "create": "C",
    "update": "U",
    "delete": "D",
    "operation": "E",
    "capabilities": "R",
}


@dataclass(frozen=True)
class Request:
    """What the audit line says of a request (from its method and path: no body, no query values)."""

    method: str
    path: str
    query: str
    request_id: str
    client_address: str | None
    patient: str | None = None  # the patient the gateway resolved the request to (a body's too)
    location: str | None = None  # the answer's Location: the record a create made (or matched)


def interaction(method: str, parts: list[str]) -> str:
    """The FHIR interaction of `/fhir/{tenant}/...` path `parts` (after the tenant)."""
    if not parts or parts[0] == "metadata":
        return "capabilities"
    if any(p.startswith("$") for p in parts) or parts[-1] == "_search":
        return "operation" if any(p.startswith("$") for p in parts) else "search-type"
    if len(parts) == 1:
        return {"POST": "create"}.get(method, "search-type")
    if len(parts) >= 3 and parts[2] == "_history":
        return "vread"
    return {"PUT": "update", "DELETE": "delete"}.get(method, "read")


UNKNOWN_TENANT = "(unknown)"  # the site of a request to no configured tenant: its path text is the client's


def audit_event(
    request: Request,
    status: int,
    caller: Caller | None,
    now: datetime | None = None,
    tenants: Collection[str] | None = None,
) -> dict[str, Any]:
    """The request's AuditEvent. `tenants`: the configured ones; any other name in the path is
    recorded as UNKNOWN_TENANT, never as the (arbitrary, possibly long or bidi) text sent."""
    parts = [p for p in request.path.split("/") if p][1:]  # drop "fhir"
    tenant, rest = (parts[0], parts[1:]) if parts else ("", [])
    if tenants is not None and tenant not in tenants:
        tenant = UNKNOWN_TENANT
    kind = interaction(request.method, rest)
    entity: list[dict[str, Any]] = []
    # Only what is shaped like a resource type: any other path text is the client's, not ours to log.
    resource_type = rest[0] if rest and _TYPE.fullmatch(rest[0]) else None
    made = _located(request.location, resource_type) if kind == "create" and status < 300 else None
    if resource_type and len(rest) >= 2 and is_fhir_id(rest[1]) and not rest[1].startswith(("$", "_")):
        entity.append({"what": {"reference": f"{resource_type}/{rest[1]}"}, "type": _type(resource_type)})
    elif resource_type and made is not None:
        # The record a create made, or the one its If-None-Exist matched: the trail says which.
        entity.append({"what": {"reference": f"{resource_type}/{made}"}, "type": _type(resource_type)})
    elif resource_type:
        entity.append({"what": {"type": resource_type}, "type": _type(resource_type)})
    patient = request.patient or _query_patient(request.query)
    if patient is not None:
        entity.append(
            {
                "what": {"reference": f"Patient/{patient}"},
                "role": {"system": ENTITY_ROLE, "code": "1", "display": "Patient"},
            }
        )
    agent: dict[str, Any] = {"requestor": True, "who": {"display": "unauthenticated"}}
    if caller is not None:
        agent["who"] = {"identifier": {"system": "urn:fhir-gateway:client", "value": caller.client_id}}
        if caller.subject:
            agent["altId"] = caller.subject
    if request.client_address:
        agent["network"] = dict(_network(request.client_address))  # a copy: the cached one stays as it is
    moment = (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return {
        "resourceType": "AuditEvent",
        "type": _REST,
        "subtype": _SUBTYPES[kind],
        "action": _ACTION[kind],
        "recorded": moment,
        "outcome": "0" if status < 400 else "4" if status < 500 else "8",
        "outcomeDesc": str(status),
        "agent": [agent],
        "source": {"site": tenant, "observer": _OBSERVER},
        "entity": entity,
        "extension": [{"url": "urn:fhir-gateway:request-id", "valueString": request.request_id}],
    }


# Parts every line has, built once (serialized as they are, never changed).
_REST = {"system": AUDIT_TYPE, "code": "rest", "display": "RESTful Operation"}
_SUBTYPES = {kind: [{"system": INTERACTION, "code": kind}] for kind in _ACTION}
_OBSERVER = {"display": "fhir-gateway"}


def _type(resource_type: str) -> dict[str, str]:
    return {"system": "http://hl7.org/fhir/resource-types", "code": resource_type}


def _located(location: str | None, resource_type: str | None) -> str | None:
    """The id a create's `Location` names (`.../{type}/{id}[/_history/{vid}]`), when it names one
    of `resource_type`."""
    if not location or resource_type is None:
        return None
    parts = location.split("?", 1)[0].rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "_history":
        parts = parts[:-2]
    if len(parts) >= 2 and parts[-2] == resource_type and is_fhir_id(parts[-1]):
        return parts[-1]
    return None


def _query_patient(query: str) -> str | None:
    """The patient id a search or operation names (`patient`, `subject`: ids, not PHI)."""
    if not query:
        return None
    for name, value in parse_qsl(query, keep_blank_values=True):
        # patient=, subject=, subject:Patient=: a chained `subject:Patient.family=` is a name.
        if name in ("patient", "subject", "patient:Patient", "subject:Patient"):
            identifier = value.rstrip("/").rpartition("/")[2]
            if is_fhir_id(identifier):
                return identifier
    return None


@lru_cache(maxsize=1024)  # a client's address repeats from request to request
def _network(address: str) -> dict[str, str]:
    """The agent's network address: typed an IP address (R4 network-type 2) only when it is one.
    A trusted proxy's X-Forwarded-For is taken as it is written (uvicorn's proxy headers), and
    what is no address is recorded as claimed, untyped, and never longer than one."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return {"address": address[:64]}
    return {"address": address, "type": "2"}
