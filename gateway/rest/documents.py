"""Document endpoints: `DocumentReference/$docref` (US Core) and `Encounter/{id}/$ccd`.

`$docref` (http://hl7.org/fhir/us/core/OperationDefinition/docref) answers with a searchset
of DocumentReferences for the patient: the CCD the gateway renders for the requested period
(unless `on-demand=false`) and the vendor's stored documents of that period, if it has any.
`on-demand` absent means the server decides; this one offers the generated CCD, since a
plain `$docref?patient=` must return "the most current" CCD and only generation makes one.

`Encounter/{id}/$ccd[?section=allergies,medications,...]` renders the CCD of one encounter,
restricted to the named sections if asked: C-CDA XML, the HTML page (`Accept: text/html` or
`_format=html`) or a Binary resource (FHIR JSON).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
from lxml import etree
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from gateway import jsonio
from gateway.audit.patients import patient_of, record_patients
from gateway.auth.enforce import Access
from gateway.ccd.codes import SECTION_KEYS
from gateway.ccd.html import render_html
from gateway.contract import Interaction, read_from
from gateway.documents import ids
from gateway.documents.generate import Rendered, render_encounter_ccd
from gateway.documents.references import CCD_TYPE, CDA_MEDIA_TYPE, binary
from gateway.errors import (
    Gone,
    InvalidRequest,
    NotFound,
    NotSupported,
    UnsupportedMediaType,
)
from gateway.record import gather_everything, in_care_period
from gateway.rest.bundle import searchset
from gateway.rest.incoming import read_body
from gateway.rest.negotiation import CDA_REPRESENTATIONS, Format, other_version, wants_binary_resource, wants_html
from gateway.rest.query_encoding import check_query_encoding
from gateway.rest.references import foreign
from gateway.search.dates import parse_fhir_date, zone_info, zoneless_time
from gateway.search.parse import ABSOLUTE_URL, is_fhir_id, readable_url
from gateway.tenants import Tenant

DOCREF_PARAMS = ("patient", "start", "end", "type", "on-demand")
# US Core's $docref also defines `profile`, which is not applied here (the documents are what
# they are): refused under strict handling, else said and left out of the self link.
_NOT_APPLIED = frozenset({"profile"})
_FORMAT_PARAMS = frozenset({"_format", "_pretty"})  # how the answer is written, taken by every interaction
CCD_SYSTEM, CCD_CODE = CCD_TYPE["system"], CCD_TYPE["code"]
# Served documents: whatever they hold, a browser may neither run nor load anything from them.
DOCUMENT_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'; sandbox"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",  # clinical documents: no copies in shared caches
}


# --- $docref -----------------------------------------------------------------------------


async def operation_items(request: Request, operation: str) -> list[tuple[str, str]]:
    """An operation's parameters as (name, value) pairs, from the URL and, for a POST, its body:
    a Parameters resource, or a form (R4 operations.html#request: an operation that changes
    nothing is invoked with GET or POST)."""
    items = list(request.query_params.multi_items())
    if request.method != "POST":
        return items
    header = request.headers.get("content-type", "")
    content_type = header.split(";")[0].strip()
    body = await read_body(request)
    if not body and not content_type:  # `curl -X POST …/$everything`: no parameters at all
        return items
    if content_type == "application/x-www-form-urlencoded":
        try:
            text = body.decode()
        except UnicodeDecodeError:
            raise InvalidRequest("The form body is not UTF-8") from None
        check_query_encoding(body, "form body")
        return items + _not_formats(parse_qsl(text, keep_blank_values=True))
    if content_type not in ("application/fhir+json", "application/json"):
        raise UnsupportedMediaType(f"POST {operation} takes a Parameters resource (application/fhir+json) or a form")
    version = other_version(header)
    if version is not None:
        raise UnsupportedMediaType(f"The body is FHIR version '{version}' by its Content-Type; this server is R4 (4.0)")
    try:
        parameters = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidRequest("The body is not JSON") from None
    if not isinstance(parameters, dict) or parameters.get("resourceType") != "Parameters":
        raise InvalidRequest("The body must be a Parameters resource")
    return items + _not_formats([_parameter_item(p) for p in parameters.get("parameter") or []])


def _not_formats(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The body's parameters, which may not choose the answer's format: `_format` and `_pretty`
    belong to the URL (R4 http.html#parameters), where the answer's negotiation reads them."""
    for name, _ in items:
        if name in ("_format", "_pretty"):
            raise InvalidRequest(f"Give {name} in the URL, not in the body", expression=name)
    return items


_NUMBERS = frozenset({"valueInteger", "valuePositiveInt", "valueUnsignedInt", "valueDecimal"})


def _parameter_item(parameter: Any) -> tuple[str, str]:
    if not isinstance(parameter, dict) or not isinstance(parameter.get("name"), str):
        raise InvalidRequest("Each parameter needs a name", expression="Parameters.parameter")
    name = parameter["name"]
    if sum(key.startswith("value") for key in parameter) > 1:  # R4 Parameters: value[x] is 0..1
        raise InvalidRequest(f"Parameter '{name}' has more than one value", expression=f"Parameters.parameter.{name}")
    for key, value in parameter.items():
        if not key.startswith("value"):
            continue
        if key == "valueBoolean" and isinstance(value, bool):
            return name, str(value).lower()
        if key in _NUMBERS and isinstance(value, int | float) and not isinstance(value, bool):
            return name, str(value)  # `_count` is an integer (patient-operation-everything.html)
        if key == "valueReference" and isinstance(value, dict) and isinstance(value.get("reference"), str):
            # As the query parameter takes it ("Patient/1", "1", or an absolute URL whose server
            # is checked there): cut down to its id here, another server's patient became ours.
            return name, value["reference"]
        if key in ("valueCoding", "valueCodeableConcept") and isinstance(value, dict):
            coding = _first_coding(value) if key == "valueCodeableConcept" else value
            if coding is not None and all(isinstance(coding.get(k, ""), str) for k in ("system", "code")):
                return name, f"{coding.get('system') or ''}|{coding.get('code') or ''}"
        if isinstance(value, str):
            return name, value
    raise InvalidRequest(f"Parameter '{name}' has no usable value", expression=f"Parameters.parameter.{name}")


def _first_coding(concept: dict[str, Any]) -> dict[str, Any] | None:
    """A CodeableConcept's first Coding; None when `coding` is not a list of objects (R4
    datatypes: CodeableConcept.coding is Coding 0..*)."""
    codings = concept.get("coding", [])
    if not isinstance(codings, list) or not codings or not all(isinstance(c, dict) for c in codings):
        return None
    first: dict[str, Any] = codings[0]
    return first


def _comparable(key: str, value: str) -> str:
    # The query's `patient=2` and the body's `Patient/2` (a valueReference) name one patient.
    return value.removeprefix("Patient/") if key == "patient" else value


async def docref(request: Request, tenant: Tenant, base: str, fmt: Format, strict: bool, allowed: Access) -> Response:
    items = await operation_items(request, "$docref")
    unknown = sorted({k for k, _ in items if k not in DOCREF_PARAMS and k not in _FORMAT_PARAMS} - _NOT_APPLIED)
    unapplied = sorted({k for k, _ in items if k in _NOT_APPLIED})
    if unknown and strict:
        raise NotSupported(f"$docref does not take: {', '.join(unknown)}", expression=unknown[0])
    if unapplied and strict:
        raise NotSupported(f"$docref does not apply: {', '.join(unapplied)}", expression=unapplied[0])
    notes: tuple[str, ...] = (f"$docref does not take: {', '.join(unknown)}; ignored",) if unknown else ()
    notes += (f"$docref does not apply: {', '.join(unapplied)}; ignored",) if unapplied else ()
    given: dict[str, str] = {}
    for key, value in items:
        if key in DOCREF_PARAMS:
            if key in given and _comparable(key, given[key]) != _comparable(key, value):
                raise InvalidRequest(f"{key} is given twice, with different values", expression=key)
            given[key] = value
    prefix, _, patient_id = given.get("patient", "").rpartition("Patient/")
    elsewhere = False  # the patient of another server (or tenant): no record of it here
    if prefix:
        if ABSOLUTE_URL.match(prefix) is None or not prefix.endswith("/") or not readable_url(prefix):
            raise InvalidRequest(
                "patient must be an id, Patient/[id] or the patient's absolute URL", expression="patient"
            )
        elsewhere = foreign(prefix[:-1], base)
    if not patient_id:
        raise InvalidRequest("$docref needs the patient's id: ?patient=<id>", expression="patient")
    if not is_fhir_id(patient_id):
        raise InvalidRequest(f"'{patient_id}' is not a valid FHIR id", expression="patient")
    if "," in given.get("type", ""):
        # One Coding (US Core's `type` is 0..1), not a search token: a comma is no list of them.
        raise InvalidRequest("type takes one coding: system|code", expression="type")
    start, end = _bound(given.get("start"), "start", tenant), _bound(given.get("end"), "end", tenant)
    zone = zone_info(tenant.context.timezone)
    if start and end and parse_fhir_date(start, zone).start >= parse_fhir_date(end, zone).end:
        raise InvalidRequest("start is after end", expression="start")
    on_demand = _boolean(given.get("on-demand"), "on-demand")
    wants_ccd = _is_ccd(given.get("type"))
    documents = tenant.documents
    links = [("self", f"{base}/DocumentReference/$docref?{urlencode(sorted(given.items()))}")]
    if elsewhere:
        return _bundle(fmt, base, [], links, notes=notes)
    record_patients(request.scope, (patient_id,))  # the patient applied, as asked
    if allowed.patient not in (None, patient_id):
        return _bundle(fmt, base, [], links, notes=notes)  # another patient, to a confined caller: as if missing
    try:
        await read_from(tenant.vendor_providers, "Patient", patient_id)
    except (NotFound, Gone):
        return _bundle(fmt, base, [], links, notes=notes)  # US Core: no such patient, an empty Bundle
    found: list[dict[str, Any]] = []
    if on_demand is not False and wants_ccd is not False:
        # Named as a read of its id would name it (bounds canonical), so the two agree.
        named = ids.parse(ids.patient_document(patient_id, start, end))
        assert named is not None
        found.append(documents.patient_reference(patient_id, named.start, named.end))
    missing: list[str] = []
    vendor_docs = tenant.vendor_providers.get("DocumentReference")
    if vendor_docs is not None and Interaction.SEARCH in vendor_docs.support.interactions:
        stored, missing = await gather_everything(tenant.context.timezone, patient_id, [vendor_docs], None, None)
        found += [
            d
            for d in stored
            if _matches_type(d, given.get("type")) and in_care_period(d, start, end, tenant.context.timezone)
        ]
    # What the vendor could not list is said in the searchset (no total), not hidden by a 502
    # that would also withhold the documents that could be listed.
    return _bundle(fmt, base, [d for d in found if allowed.admits(d)], links, tuple(missing), notes)


def _bundle(
    fmt: Format,
    base: str,
    found: list[dict[str, Any]],
    links: list[tuple[str, str]],
    missing: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
) -> Response:
    total = None if missing else len(found)
    body = searchset(base=base, resources=found, links=links, total=total, warnings=missing, notes=notes)
    return Response(jsonio.dumps(body, pretty=fmt.pretty), media_type=fmt.content_type)


def _bound(value: str | None, name: str, tenant: Tenant) -> str | None:
    if not value:
        return None
    try:
        parse_fhir_date(value, zone_info(tenant.context.timezone))
    except ValueError:
        raise InvalidRequest(f"'{value}' is not a valid date or dateTime", expression=name) from None
    if zoneless_time(value):
        raise InvalidRequest(f"'{value}' needs a time zone", expression=name)
    return value


def _boolean(value: str | None, name: str) -> bool | None:
    if value is None:
        return None
    if value not in ("true", "false"):
        raise InvalidRequest(f"{name} must be true or false", expression=name)
    return value == "true"


def _is_ccd(token: str | None) -> bool | None:
    """Whether `type` asks for CCDs (None: no type given)."""
    if not token:
        return None
    system, bar, code = token.rpartition("|")
    return code == CCD_CODE and (not bar or system in ("", CCD_SYSTEM))


def _matches_type(document: dict[str, Any], token: str | None) -> bool:
    if not token:
        return True
    system, bar, code = token.rpartition("|")
    return any(
        c.get("code") == code and (not bar or c.get("system") == system)
        for c in (document.get("type") or {}).get("coding", [])
    )


# --- Encounter/$ccd -----------------------------------------------------------------------


# CamelCase and singular spellings (VitalSigns, Encounter, PlanOfCare, ...), as vendors' own APIs name
# sections, are accepted as well.
_SECTION_ALIASES = {
    **{key.replace("-", ""): key for key in SECTION_KEYS},
    "allergy": "allergies",
    "medication": "medications",
    "problem": "problems",
    "result": "results",
    "procedure": "procedures",
    "encounter": "encounters",
    "planofcare": "plan-of-treatment",
    "plan": "plan-of-treatment",
}


def _section_key(name: str) -> str:
    folded = "".join(ch for ch in name.lower() if ch.isalnum())
    return _SECTION_ALIASES.get(folded, name)


def sections_param(values: list[str]) -> frozenset[str] | None:
    wanted = {_section_key(s.strip()) for value in values for s in value.split(",") if s.strip()}
    if not wanted:
        if values:
            raise InvalidRequest("section names no section", expression="section")
        return None
    unknown = wanted - set(SECTION_KEYS)
    if unknown:
        raise InvalidRequest(
            f"Unknown section(s): {', '.join(sorted(unknown))}; sections are {', '.join(SECTION_KEYS)}",
            expression="section",
        )
    return frozenset(wanted)


async def encounter_ccd(
    request: Request, tenant: Tenant, encounter_id: str, fmt: Format | None, params: QueryParams
) -> Response:
    """`params`: the operation's, from the URL and a POST's body (`operation_items`)."""
    sections = sections_param(params.getlist("section"))
    document_id = ids.encounter_document(encounter_id)
    rendered = await render_encounter_ccd(tenant.documents.source, encounter_id, sections)
    # Restricted to some sections it is not the document Binary/<id> serves: it gets no id.
    return document_response(request, fmt, document_id if sections is None else None, rendered)


# --- serving a document -------------------------------------------------------------------


def document_response(
    request: Request, fmt: Format | None, document_id: str | None, content: Rendered | bytes
) -> Response:
    """A CDA document as the client asked: the Binary resource (FHIR JSON), the HTML page, or XML.
    The caller has refused a format the document does not have (`check_document_format`),
    before the work of fetching or rendering it."""
    if isinstance(content, Rendered):  # whose record the document is, for the audit line
        record_patients(request.scope, (patient_of(content.request.patient),))
    xml = content.xml if isinstance(content, Rendered) else content
    q = request.query_params
    accept = request.headers.get("accept")
    if fmt is not None and wants_binary_resource(q.get("_format"), accept, CDA_REPRESENTATIONS):
        resource = binary(document_id, xml)
        body = jsonio.dumps(resource, pretty=fmt.pretty)
        return Response(body, media_type=fmt.content_type, headers={"Cache-Control": "no-store"})
    if wants_html(q.get("_format"), accept):
        html = render_html(content.document) if isinstance(content, Rendered) else as_html(xml)
        if html is not None:
            return Response(html, media_type="text/html; charset=utf-8", headers=DOCUMENT_HEADERS)
    return Response(xml, media_type=CDA_MEDIA_TYPE, headers=DOCUMENT_HEADERS)


_SAFE_XML = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def as_html(xml: bytes) -> str | None:
    """The HTML page of a CDA document, or None when the XML is not one."""
    try:
        root = etree.fromstring(xml, parser=_SAFE_XML)
    except etree.XMLSyntaxError:
        return None
    if root.tag != "{urn:hl7-org:v3}ClinicalDocument":
        return None
    return render_html(root)


def is_cda(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in (CDA_MEDIA_TYPE, "text/xml", "application/cda+xml")
