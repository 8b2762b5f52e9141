"""An audit line, shaped as a FHIR R4 AuditEvent (http://hl7.org/fhir/R4/auditevent.html).

Who (the token's client and subject), what (the interaction, the resource type and id, and the
patients whose data it touched: gateway.audit.patients), when, the outcome, and the request id.
Never a name, a birth date or any other query value: only ids, which the gateway's own URLs
already show.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from gateway import jsonio
from gateway.auth.decision import Caller
from gateway.documents import ids
from gateway.search.parse import is_fhir_id
from gateway.text import escaped

AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
# A line must stay one write of at most PIPE_BUF bytes (4096 on Linux; POSIX write(2): no more
# is written to a pipe without interleaving), so that lines of several workers on one pipe never
# mix (gateway.audit.sink.StdoutSink). LINE_BYTES is what an event may take before the sequence
# number the middleware appends (under 100 bytes) and the newline.
LINE_BYTES = 4096 - 128
# At most this many patient entities on a line (a page of a search can hold hundreds); fewer when
# the line would not fit in LINE_BYTES. Beyond them the line says how many patients it does not
# name (PATIENTS_NOT_NAMED): incomplete, and said to be.
MAX_PATIENTS = 12
# The text an agent is named by (client id, `sub`/`fhirUser`) and the tenant's name come from an
# issuer or the configuration and have no length limit (an 18,000-character client_id was seen):
# each is kept to AGENT_TEXT_BYTES serialized, its end replaced by TRUNCATED and its length.
AGENT_TEXT_BYTES = 256
TRUNCATED = "…(truncated from {} characters)"
DICOM = "http://dicom.nema.org/resources/ontology/DCM"
PATIENTS_NOT_NAMED = "urn:fhir-gateway:audit-patients-not-named"
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
    request_id: str
    client_address: str | None
    patients: tuple[str, ...] = ()  # those a handler applied or served (gateway.audit.patients)
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
    # Never from the query: a parameter the interaction ignored would name whomever the client chose.
    patients = dict.fromkeys((*_path_patient(resource_type, rest), *request.patients))
    named = list(patients)[:MAX_PATIENTS]
    for patient in named:
        entity.append({"what": {"reference": f"Patient/{patient}"}, "role": _PATIENT_ROLE})
    agent: dict[str, Any] = {"requestor": True, "who": {"display": "unauthenticated"}}
    if caller is not None:
        agent["who"] = {"identifier": {"system": "urn:fhir-gateway:client", "value": bounded(caller.client_id)}}
        if caller.subject:
            agent["altId"] = bounded(caller.subject)
    if request.client_address:
        agent["network"] = dict(_network(request.client_address))  # a copy: the cached one stays as it is
    moment = _moment(now)
    extension: list[dict[str, Any]] = [{"url": "urn:fhir-gateway:request-id", "valueString": request.request_id}]
    event = {
        "resourceType": "AuditEvent",
        "type": _REST,
        "subtype": _SUBTYPES[kind],
        "action": _ACTION[kind],
        "recorded": moment,
        "outcome": "0" if status < 400 else "4" if status < 500 else "8",
        "outcomeDesc": str(status),
        "agent": [agent],
        "source": {"site": bounded(tenant), "observer": _OBSERVER},
        "entity": entity,
        "extension": extension,
    }
    return _fitted(event, len(named), len(patients))


def authentication_event(
    request: Request, status: int, client_id: str | None, now: datetime | None = None
) -> dict[str, Any]:
    """A token request's AuditEvent: DICOM 110114 User Authentication, subtype 110122 Login
    (R4 AuditEvent, its example-login; HIPAA 164.308(a)(5)(ii)(C) log-in monitoring), action E.
    `client_id`: the registered client the assertion claims to be, named whether or not it was
    proven (a replayed or wrongly signed assertion is a failed login of that client); None when it
    names no registered client (the text sent is the client's, not ours to log). Never the
    assertion, nor anything else of the form."""
    agent: dict[str, Any] = {"requestor": True, "who": {"display": "unauthenticated"}}
    if client_id is not None:
        agent["who"] = {"identifier": {"system": "urn:fhir-gateway:client", "value": bounded(client_id)}}
    if request.client_address:
        agent["network"] = dict(_network(request.client_address))
    return {
        "resourceType": "AuditEvent",
        "type": _AUTHENTICATION,
        "subtype": _LOGIN,
        "action": "E",
        "recorded": _moment(now),
        "outcome": "0" if status < 400 else "4" if status < 500 else "8",
        "outcomeDesc": str(status),
        "agent": [agent],
        "source": {"observer": _OBSERVER},
        "entity": [],
        "extension": [{"url": "urn:fhir-gateway:request-id", "valueString": request.request_id}],
    }


def bounded(text: str) -> str:
    """`text` if it serializes to at most AGENT_TEXT_BYTES, else its start and TRUNCATED."""
    # At most 7 bytes a character (a lone surrogate written as its escape, `"\\ud800"`).
    if len(text) <= AGENT_TEXT_BYTES // 7 or _size(text) <= AGENT_TEXT_BYTES:
        return text
    marker = TRUNCATED.format(len(text))
    kept = text[:AGENT_TEXT_BYTES]
    while kept and _size(kept + marker) > AGENT_TEXT_BYTES:
        kept = kept[: len(kept) - max(1, len(kept) // 8)]
    return kept + marker


def _fitted(event: dict[str, Any], named: int, patients: int) -> dict[str, Any]:
    """`event` with as many of its `named` patient entities (the last ones in `entity`) as fit in
    LINE_BYTES, and the count of the `patients` it does not name."""
    if patients <= 1:
        # Nearly every line: each of its parts is bounded (a type and an id at 64 characters, the
        # agent's texts and the site at AGENT_TEXT_BYTES, an address at 64), and the longest such
        # line is far below LINE_BYTES (tests/unit/gateway/audit/test_line_size.py), so it is not
        # serialized once more to be measured.
        return event
    entity, extension = event["entity"], event["extension"]
    while True:
        not_named = patients - named
        if not_named:
            extension[1:] = [{"url": PATIENTS_NOT_NAMED, "valueInteger": not_named}]
        if named == 0 or _size(event) <= LINE_BYTES:
            return event
        entity.pop()
        named -= 1


def _size(value: Any) -> int:
    """Bytes `value` takes on the line (as gateway.audit.sink.audit_line writes it)."""
    try:
        return len(jsonio.dumps(value))
    except TypeError:  # a lone surrogate: written as its escape
        return len(jsonio.dumps(escaped(value)))


def _moment(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Parts every line has, built once (serialized as they are, never changed).
_AUTHENTICATION = {"system": DICOM, "code": "110114", "display": "User Authentication"}
_LOGIN = [{"system": DICOM, "code": "110122", "display": "Login"}]
_REST = {"system": AUDIT_TYPE, "code": "rest", "display": "RESTful Operation"}
_SUBTYPES = {kind: [{"system": INTERACTION, "code": kind}] for kind in _ACTION}
_OBSERVER = {"display": "fhir-gateway"}
_PATIENT_ROLE = {"system": ENTITY_ROLE, "code": "1", "display": "Patient"}


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


def _path_patient(resource_type: str | None, rest: list[str]) -> tuple[str, ...]:
    """The patient the path asks for: `Patient/[id]` (its read, history, operations...), or the
    patient of a generated CCD `Binary/ccd-p….[id]` (gateway.documents.ids), whatever the outcome."""
    if len(rest) < 2 or not is_fhir_id(rest[1]):
        return ()
    if resource_type == "Patient":
        return (rest[1],)
    if resource_type == "Binary" and ids.is_generated(rest[1]):
        document = ids.parse(rest[1])
        if document is not None and document.patient is not None and is_fhir_id(document.patient):
            return (document.patient,)
    return ()


@lru_cache(maxsize=1024)  # a client's address repeats from request to request
def _network(address: str) -> dict[str, str]:
    """The agent's network address: typed an IP address (R4 network-type 2) only when it is one.
    A trusted proxy's X-Forwarded-For is taken as it is written (uvicorn's proxy headers), and
    what is no address is recorded as claimed, untyped, and never longer than one."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return {"address": address[:64]}
    if len(address) > 64:  # an IPv6 zone (RFC 4007 section 11) may be any text: no address is this long
        return {"address": address[:64]}
    return {"address": address, "type": "2"}
