"""The US Realm Header of a CCD: who the document is about, who made it, who keeps it, and
the period and encounter it covers."""

from __future__ import annotations

from gateway.ccd.codes import CONFIDENTIALITY_OID, GENDER_OID, LOINC_OID, MARITAL_OID, RACE_ETHNICITY_OID
from gateway.ccd.datatypes import JSON, addresses, cd, coded, ii, ivl_ts, person_names, telecoms, template, ts, ts_of
from gateway.ccd.model import CcdRequest
from gateway.ccd.nodes import Element, el

US_CORE_EXT = "http://hl7.org/fhir/us/core/StructureDefinition/"
_GENDER = {"male": ("M", "Male"), "female": ("F", "Female"), "other": ("UN", "Undifferentiated")}
SOFTWARE = "fhir-gateway"


def header(request: CcdRequest) -> list[Element]:
    created = ts_of(request.created)
    nodes = [
        el("realmCode", {"code": "US"}),
        el("typeId", {"root": "2.16.840.1.113883.1.3", "extension": "POCD_HD000040"}),
        *template("2.16.840.1.113883.10.20.22.1.1", "2015-08-01"),
        # Restricted to some sections, the document is no longer a whole CCD: it keeps the
        # US Realm Header but does not claim the CCD template it would fail.
        *(template("2.16.840.1.113883.10.20.22.1.2", "2015-08-01") if request.sections is None else []),
        el("id", {"root": request.document_id}),
        coded("34133-9", LOINC_OID, "Summarization of Episode Note"),
        el("title", text=request.title),
        el("effectiveTime", {"value": created}),
        coded("N", CONFIDENTIALITY_OID, "normal", tag="confidentialityCode"),
        el("languageCode", {"code": "en-US"}),
        el("setId", {"root": request.set_id}),
        el("versionNumber", {"value": "1"}),
        el("recordTarget", None, _patient_role(request.patient)),
        _author(request, created),
        _custodian(request),
        _documentation_of(request),
    ]
    if request.encounter is not None:
        nodes.append(_component_of(request.encounter, request))
    return nodes


def _patient_role(patient: JSON) -> Element:
    role = el("patientRole")
    for identifier in patient.get("identifier", []):
        if identifier.get("system") and identifier.get("value"):
            role.append(ii(identifier["system"], identifier["value"]))
    if not len(role):
        role.append(el("id", {"nullFlavor": "UNK"}))
    role.extend(addresses(patient.get("address", [])))
    role.extend(telecoms(patient.get("telecom", [])))
    person = el("patient")
    person.extend(person_names(patient.get("name", [])))
    gender = _GENDER.get(patient.get("gender") or "")
    person.append(
        coded(gender[0], GENDER_OID, gender[1], tag="administrativeGenderCode")
        if gender
        else el("administrativeGenderCode", {"nullFlavor": "UNK"})
    )
    person.append(ts(patient.get("birthDate"), "birthTime"))
    if patient.get("deceasedBoolean") or patient.get("deceasedDateTime"):
        person.append(el("sdtc:deceasedInd", {"value": "true"}))
        if patient.get("deceasedDateTime"):
            person.append(ts(patient["deceasedDateTime"], "sdtc:deceasedTime"))
    marital = [c for c in (patient.get("maritalStatus") or {}).get("coding", []) if c.get("code")]
    if marital and marital[0].get("system", "").endswith("v3-MaritalStatus"):
        person.append(coded(marital[0]["code"], MARITAL_OID, marital[0].get("display"), tag="maritalStatusCode"))
    races = _omb(patient, "us-core-race")
    person.append(_race_code(races[:1], "raceCode"))
    person.extend(_race_code([race], "sdtc:raceCode") for race in races[1:])
    person.append(_race_code(_omb(patient, "us-core-ethnicity")[:1], "ethnicGroupCode"))
    for communication in patient.get("communication", []):
        language = next((c.get("code") for c in (communication.get("language") or {}).get("coding", [])), None)
        if language:
            comm = el("languageCommunication", None, el("languageCode", {"code": language}))
            if communication.get("preferred") is not None:
                comm.append(el("preferenceInd", {"value": str(bool(communication["preferred"])).lower()}))
            person.append(comm)
    role.append(person)
    return role


def _omb(patient: JSON, extension: str) -> list[JSON]:
    """The OMB categories (CDC race and ethnicity codes) of a US Core race/ethnicity extension."""
    return [
        sub["valueCoding"]
        for ext in patient.get("extension", [])
        if ext.get("url") == US_CORE_EXT + extension
        for sub in ext.get("extension", [])
        if sub.get("url") == "ombCategory"
        and sub.get("valueCoding", {}).get("code")
        and sub["valueCoding"].get("system") == "urn:oid:2.16.840.1.113883.6.238"
    ]


def _race_code(codings: list[JSON], tag: str) -> Element:
    if not codings:
        return el(tag, {"nullFlavor": "UNK"})
    return coded(codings[0]["code"], RACE_ETHNICITY_OID, codings[0].get("display"), tag=tag)


def _organization_id(request: CcdRequest) -> Element:
    return ii(request.custodian.identifier_system, "organization")


def _author(request: CcdRequest, created: str) -> Element:
    """The gateway assembled this document from the vendor's records: a device author,
    representing the practice (C-CDA allows assignedAuthoringDevice)."""
    assigned = el("assignedAuthor", None, ii(request.custodian.identifier_system, SOFTWARE))
    assigned.append(el("addr", {"nullFlavor": "NA"}))
    assigned.append(el("telecom", {"nullFlavor": "NA"}))
    assigned.append(
        el(
            "assignedAuthoringDevice",
            None,
            el("manufacturerModelName", text=SOFTWARE),
            el("softwareName", text=f"{SOFTWARE} {request.software_version}"),
        )
    )
    assigned.append(
        el("representedOrganization", None, _organization_id(request), el("name", text=request.custodian.name))
    )
    return el("author", None, el("time", {"value": created}), assigned)


def _custodian(request: CcdRequest) -> Element:
    organization = el(
        "representedCustodianOrganization",
        None,
        _organization_id(request),
        el("name", text=request.custodian.name),
        el("telecom", {"nullFlavor": "UNK"}),
        el("addr", {"nullFlavor": "UNK"}),
    )
    return el("custodian", None, el("assignedCustodian", None, organization))


def _documentation_of(request: CcdRequest) -> Element:
    start, end = request.service_period
    event = el("serviceEvent", {"classCode": "PCPR"}, ivl_ts(start, end, open_high=False))
    return el("documentationOf", None, event)


def _component_of(encounter: JSON, request: CcdRequest) -> Element:
    period = encounter.get("period") or {}
    node = el("encompassingEncounter")
    identifiers = [i for i in encounter.get("identifier", []) if i.get("system") and i.get("value")]
    if identifiers:
        node.extend(ii(i["system"], i["value"]) for i in identifiers)
    else:
        node.append(ii(request.custodian.identifier_system + "/encounter", encounter.get("id")))
    encounter_type = (encounter.get("type") or [None])[0]
    if encounter_type:
        node.append(cd(encounter_type, prefer=("http://www.ama-assn.org/go/cpt", "http://snomed.info/sct")))
    node.append(ivl_ts(period.get("start"), period.get("end")))
    location = next((loc.get("location", {}).get("display") for loc in encounter.get("location", [])), None)
    if location:
        facility = el(
            "healthCareFacility",
            None,
            ii(request.custodian.identifier_system + "/location", location),
            el("location", None, el("name", text=location)),
        )
        node.append(el("location", None, facility))
    return el("componentOf", None, node)
