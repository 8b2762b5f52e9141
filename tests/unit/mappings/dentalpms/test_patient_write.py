"""FHIR Patient → Dental PMS create/update bodies: what is kept, what is reported as not
stored, and how a create's patient is recognised."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from gateway.contract import TenantContext
from gateway.errors import Unprocessable, UnsupportedModifier
from mappings.dentalpms.patient import patient_to_fhir
from mappings.dentalpms.patient_lookup import same_patient
from mappings.dentalpms.patient_write import (
    OWNED,
    changes,
    chart_number_path,
    kept_for_status,
    patient_for_create,
    patient_for_update,
    refuse_unheld_status,
    status_path,
)

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
CHART = CTX.system("chart-number")
GOLDEN_FULL = Path(__file__).parents[3] / "golden" / "dentalpms" / "patient" / "full.input.json"


def _patient(**extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {"system": CHART, "value": "C00042"},
            {"system": CTX.system("patient-id"), "value": "ignored"},
            {"system": "https://hie.example.org/mrn", "value": "M1"},
        ],
        "name": [
            {"use": "official", "family": "Nu\u0301n\u0303ez", "given": ["Renée", "Ana", "María"], "prefix": ["Dr"]},
            {"use": "usual", "given": ["Rena"]},
            {"use": "maiden", "family": "Other"},
        ],
        "gender": "other",
        "birthDate": "1980-05-02",
        "telecom": [
            {"system": "phone", "value": "555-0100"},
            {"system": "phone", "value": "555-0101", "use": "work"},
            {"system": "email", "value": "a@example.org"},
            {"system": "email", "value": "b@example.org"},
            {"system": "fax", "value": "555-0199"},
        ],
        "address": [
            {"use": "home", "line": ["1 Main", "Apt 2"], "city": "Austin", "state": "TX", "postalCode": "78701"}
        ],
        "maritalStatus": {"coding": [{"code": "M"}]},
        "communication": [{"language": {"coding": [{"code": "es"}]}, "preferred": True}],
        **extra,
    }


def test_create_keeps_what_the_vendor_has_fields_for() -> None:
    body = patient_for_create(_patient(), CTX)
    assert body.fields == {
        "chart_number": "C00042",
        "last_name": "Núñez",  # NFC, whatever the client sent
        "first_name": "Renée",
        "middle_name": "Ana María",
        "preferred_name": "Rena",
        "gender": "other",
        "date_of_birth": "1980-05-02",
        "mobile_phone": "555-0100",
        "work_phone": "555-0101",
        "email": "a@example.org",
        "address_line1": "1 Main",
        "address_line2": "Apt 2",
        "city": "Austin",
        "state": "TX",
        "postal_code": "78701",
        "marital_status": "married",
        "preferred_language": "es",
    }
    assert set(body.not_stored) == {
        "Patient.identifier[1]",  # the vendor gives a new patient its id: this one is not kept
        "Patient.identifier[2]",
        "Patient.address[0].use",  # read back without one (patient.py)
        "Patient.name[0].prefix",
        "Patient.name[2]",
        "Patient.telecom[3]",
        "Patient.telecom[4]",
    }


def test_create_sets_the_lifecycle_and_reports_unknown_elements() -> None:
    body = patient_for_create(_patient(active=False, photo=[{"url": "x"}]), CTX)
    assert body.fields["status"] == "inactive"
    assert "Patient.photo" in body.not_stored
    deceased = patient_for_create(_patient(deceasedDateTime="2020-01-02T03:04:05Z"), CTX)
    assert deceased.fields["status"] == "deceased"
    assert deceased.fields["date_time_deceased"] == "2020-01-02T03:04:05Z"


@pytest.mark.parametrize(
    ("sent", "date_time"),
    [
        ("2020-03-15", "2020-03-15T00:00:00-05:00"),  # the clinic's midnight (CDT)
        ("2020-01-15", "2020-01-15T00:00:00-06:00"),  # (CST)
        ("2020-01-02T03:04:05+02:00", "2020-01-02T03:04:05+02:00"),
    ],
)
def test_a_date_of_death_is_sent_as_an_rfc_3339_date_time(sent: str, date_time: str) -> None:
    # `date_time_deceased` is a `string (date-time)`: a strict service refuses a date alone.
    for body in (
        patient_for_create(_patient(deceasedDateTime=sent), CTX),
        patient_for_update(_patient(deceasedDateTime=sent), CTX),
    ):
        assert body.fields["date_time_deceased"] == date_time
        assert "Patient.deceasedDateTime" not in body.not_stored


def test_update_clears_what_the_resource_leaves_out_but_keeps_the_chart_number() -> None:
    minimal = {"resourceType": "Patient", "id": "x", "name": [{"family": "Doe", "given": ["Jo"]}]}
    body = patient_for_update(minimal, CTX)
    assert set(body.fields) == set(OWNED)
    assert body.fields["last_name"] == "Doe" and body.fields["first_name"] == "Jo"
    assert body.fields["email"] is None and body.fields["date_of_birth"] is None
    assert "chart_number" not in body.fields
    with_status = patient_for_update({**minimal, "active": True}, CTX)
    assert with_status.not_stored == () and "status" not in with_status.fields  # transition-status moves it


@pytest.mark.parametrize(
    ("sent", "current", "steps", "unmet"),
    [
        ({"active": False}, "active", ("inactive",), ("Patient.active",)),
        ({"active": False}, "prospective", ("active", "inactive"), ("Patient.active",)),
        ({"active": False}, "inactive", (), ()),
        ({"active": True}, "inactive", ("active",), ("Patient.active",)),
        ({"active": True}, "prospective", (), ()),  # prospective patients are in use already
        ({"active": True}, None, (), ()),  # a status left out is its default, active
        ({"deceasedBoolean": True}, "active", ("deceased",), ("Patient.deceased",)),
        (
            {"deceasedDateTime": "2020-01-02", "active": True},
            "inactive",
            ("active", "deceased"),
            ("Patient.deceased", "Patient.active"),  # deceased patients are not in use
        ),
        ({"deceasedBoolean": True, "active": True}, "deceased", (), ("Patient.active",)),
        # Deceased is terminal, and a PUT without deceased[x] says the patient is not known
        # to be deceased (a full replace): the death is kept, and said. Before, nothing was.
        ({"active": True}, "deceased", (), ("Patient.active", "Patient.deceased")),
        ({"active": False}, "deceased", (), ("Patient.deceased",)),  # not in use already, but dead
        ({}, "deceased", (), ("Patient.deceased",)),
        ({}, "inactive", (), ()),  # neither active nor deceased said: the status stays
        # Deceased is terminal: a death corrected (deceasedBoolean false) cannot be stored, and
        # is said (before, a 200 left the patient deceased without a word).
        ({"deceasedBoolean": False}, "deceased", (), ("Patient.deceased",)),
        ({"deceasedBoolean": False, "active": True}, "deceased", (), ("Patient.active", "Patient.deceased")),
        ({"deceasedBoolean": False}, "active", (), ()),
    ],
)
def test_the_status_an_update_asks_for_is_reached_by_documented_transitions(
    sent: dict[str, Any], current: str | None, steps: tuple[str, ...], unmet: tuple[str, ...]
) -> None:
    path = status_path(sent, current)
    assert path.steps == steps
    assert path.unmet == unmet  # what stays unmet until the steps are taken (or for good)


@pytest.mark.parametrize(
    ("sent", "current", "refused"),
    [
        # Deceased is terminal ("deceased -> (none)"): a death taken back, or the patient made
        # active, cannot be stored. Before, the PATCH went ahead and the element was reported.
        ({"deceasedBoolean": False}, "deceased", ["Patient.deceased"]),
        ({"active": True}, "deceased", ["Patient.active"]),
        ({"deceasedBoolean": False, "active": True}, "deceased", ["Patient.active", "Patient.deceased"]),
        # One status: a deceased patient is not in use, whatever the transitions.
        ({"deceasedBoolean": True, "active": True}, "deceased", ["Patient.active"]),
        ({"deceasedDateTime": "2020-01-02", "active": True}, "inactive", ["Patient.active"]),
        # An archived patient moves only once restored (the reference's restore endpoint).
        ({"active": True}, "archived", ["Patient.active"]),
        ({"deceasedBoolean": True}, "archived", ["Patient.deceased"]),
        # Stored: what the patient's status holds already, or reaches.
        ({"active": False}, "deceased", []),
        ({"deceasedDateTime": "2020-01-02"}, "deceased", []),
        ({"active": False}, "archived", []),
        ({"deceasedBoolean": False}, "archived", []),
        ({"deceasedBoolean": False}, "active", []),
        ({"deceasedBoolean": True, "active": False}, "inactive", []),  # inactive -> active -> deceased
        ({"active": False}, "prospective", []),  # prospective -> active -> inactive
        # Left out: the death kept, and reported after the write (`status_path`).
        ({}, "deceased", []),
    ],
)
def test_a_modifier_no_status_transition_reaches_is_refused(
    sent: dict[str, Any], current: str, refused: list[str]
) -> None:
    resource = {"resourceType": "Patient", "id": "x", "name": [{"family": "Doe", "given": ["Jo"]}], **sent}
    if not refused:
        refuse_unheld_status(resource, current)
        return
    with pytest.raises(UnsupportedModifier) as caught:
        refuse_unheld_status(resource, current)
    error = caught.value
    assert (error.status, error.code) == (422, "not-supported")
    assert [error.expression, *(where for _, where in error.issues)] == refused


def test_a_create_in_use_and_deceased_is_refused() -> None:
    # The create body's one `status` cannot say both; before, the patient was created deceased
    # and `active: true` was dropped without a word.
    with pytest.raises(UnsupportedModifier) as caught:
        patient_for_create({**_patient(), "active": True, "deceasedBoolean": True}, CTX)
    assert caught.value.expression == "Patient.active"
    assert patient_for_create({**_patient(), "active": False, "deceasedBoolean": True}, CTX).fields["status"] == (
        "deceased"
    )


@pytest.mark.parametrize(
    "names", [[], [{"family": "Doe"}], [{"given": ["Jo"]}], [{"use": "nickname", "family": "Doe", "given": ["J"]}]]
)
def test_a_patient_without_family_and_given_name_is_refused(names: list[dict[str, Any]]) -> None:
    with pytest.raises(Unprocessable) as caught:
        patient_for_create({"resourceType": "Patient", "name": names}, CTX)
    assert caught.value.expression == "Patient.name"


@pytest.mark.parametrize("when", ["2020", "2020-03"])
def test_an_update_with_a_partial_deceased_date_neither_sends_nor_clears_it(when: str) -> None:
    # A FastAPI service reads "2020" as Unix seconds (1970-01-01T00:33:40Z) and refuses "2020-03".
    minimal = {"resourceType": "Patient", "id": "x", "name": [{"family": "Doe", "given": ["Jo"]}]}
    body = patient_for_update({**minimal, "deceasedDateTime": when}, CTX)
    assert "date_time_deceased" not in body.fields and body.not_stored == ("Patient.deceasedDateTime",)
    full = patient_for_update({**minimal, "deceasedDateTime": "2020-03-04T10:00:00-05:00"}, CTX)
    assert full.fields["date_time_deceased"] == "2020-03-04T10:00:00-05:00" and not full.not_stored


@pytest.mark.parametrize("when", ["2020", "2020-03"])
def test_a_create_with_a_partial_deceased_date_is_deceased_without_it(when: str) -> None:
    body = patient_for_create({**_patient(), "deceasedDateTime": when}, CTX)
    assert "date_time_deceased" not in body.fields and body.fields["status"] == "deceased"
    assert "Patient.deceasedDateTime" in body.not_stored


@pytest.mark.parametrize("born", ["1980", "1980-05"])
def test_a_partial_birth_date_is_refused_naming_it(born: str) -> None:
    # `date_of_birth` is a `string (date)`. Before, an update left it out of the fields it
    # owns, and so sent it as null: the birth date the vendor held was erased.
    for mapping in (patient_for_create, patient_for_update):
        with pytest.raises(Unprocessable) as caught:
            mapping({**_patient(), "birthDate": born}, CTX)
        assert caught.value.expression == "Patient.birthDate"


@pytest.mark.parametrize(
    ("taken_back", "status", "date_sent"),
    [
        ({}, "deceased", False),  # the death is kept whole: status_path reports it
        ({"deceasedBoolean": False}, "deceased", False),
        ({"deceasedBoolean": True}, "deceased", True),  # a death without a date: cleared, as sent
        ({}, "active", True),  # a date beside a status that is not deceased: all of the death goes
    ],
)
def test_an_update_keeps_a_deceased_patients_date_with_its_status(
    taken_back: dict[str, Any], status: str, date_sent: bool
) -> None:
    resource = {"resourceType": "Patient", "id": "x", "name": [{"family": "Doe", "given": ["Jo"]}], **taken_back}
    fields = kept_for_status(patient_for_update(resource, CTX).fields, resource, status)
    record = {"status": status, "date_time_deceased": "2020-05-17T00:00:00-05:00"}
    assert ("date_time_deceased" in changes(fields, record)) is date_sent
    assert ("Patient.deceased" in status_path(resource, status).unmet) is not date_sent


def test_a_use_that_does_not_read_back_as_sent_is_reported() -> None:
    # The one email and the one address read back without a use (patient.py).
    resource = {
        **_patient(),
        "telecom": [
            {"system": "phone", "value": "555-0101", "use": "work"},
            {"system": "email", "value": "a@example.org", "use": "work"},
        ],
        "address": [{"use": "work", "line": ["1 Main"], "city": "Austin"}],
    }
    for mapping in (patient_for_create, patient_for_update):
        body = mapping(resource, CTX)
        assert {"Patient.telecom[1].use", "Patient.address[0].use"} <= set(body.not_stored)
        assert "Patient.telecom[0].use" not in body.not_stored  # the work phone is `work_phone`
    home = patient_for_create({**resource, "address": [{"use": "home", "line": ["1 Main"]}]}, CTX)
    assert "Patient.address[0].use" in home.not_stored
    assert "use" not in patient_to_fhir({"id": "x", **home.fields}, CTX)["address"][0]


def test_a_primitives_id_and_extensions_are_named_as_fhirpath_reaches_them() -> None:
    # R4 JSON writes a primitive's id and extensions in its `_name` sibling (json.html#primitive);
    # FHIRPath reaches them on the primitive itself: `Patient.birthDate.extension`, not
    # `Patient._birthDate`, which names no element. The vendor keeps the values only.
    extension = {"extension": [{"url": "http://example.org/fhir/ext", "valueString": "x"}]}
    resource = {
        **_patient(),
        "_birthDate": extension,
        "_gender": {"id": "g1"},
        "_active": {"id": "a1", **extension},
        "name": [{"use": "official", "family": "Doe", "_family": extension, "given": ["Jo", "Ann"],
                  "_given": [None, extension]}],
        "telecom": [{"system": "phone", "value": "555-0101", "use": "work", "_value": {"id": "p1"}}],
        "address": [{"line": ["1 Main", "Apt 2"], "_line": [{"id": "l1"}, None], "city": "Austin",
                     "_city": extension, "text": "1 Main, Austin", "_text": extension}],
    }  # fmt: skip
    expected = {
        "Patient.birthDate.extension",
        "Patient.gender.id",
        "Patient.active.id",
        "Patient.active.extension",
        "Patient.name[0].family.extension",
        "Patient.name[0].given[1].extension",
        "Patient.telecom[0].value.id",
        "Patient.address[0].line[0].id",
        "Patient.address[0].city.extension",
        "Patient.address[0].text",  # not kept at all: its extension goes with it
    }
    for mapping in (patient_for_create, patient_for_update):
        body = mapping(resource, CTX)
        assert set(body.not_stored) == expected | {"Patient.identifier[1]", "Patient.identifier[2]"}, body.not_stored
        assert body.fields["date_of_birth"] == "1980-05-02" and body.fields["city"] == "Austin"


@pytest.mark.parametrize(
    "addresses",
    [
        [{"use": "home", "text": "12 Main St"}],
        [{"use": "home", "district": "Travis", "period": {"start": "2020-01-01"}}],
        [{"text": "12 Main St", "_city": {"extension": [{"url": "http://example.org/fhir/ext", "valueCode": "x"}]}}],
        [{"text": "12 Main St"}, {"use": "home", "district": "Travis"}],  # none of either is kept
    ],
)
def test_an_address_of_which_nothing_is_kept_is_named_whole(addresses: list[dict[str, Any]]) -> None:
    # None of its parts has a vendor field: the patient reads back without an address, which
    # naming only its `text` (or `use`) would not tell.
    for mapping in (patient_for_create, patient_for_update):
        body = mapping({**_patient(), "address": addresses}, CTX)
        assert [path for path in body.not_stored if path.startswith("Patient.address")] == ["Patient.address"]
        assert not any(body.fields.get(name) for name in ("address_line1", "city", "state", "postal_code"))
        assert "address" not in patient_to_fhir({"id": "x", **body.fields}, CTX)


def test_written_fields_read_back_as_the_same_patient() -> None:
    body = patient_for_create(_patient(), CTX)
    record = {"id": "3f1c2a6e-6b1e-4f55-9a53-2b7a8d9f0c11", "version": 1, "status": "active", **body.fields}
    back = patient_to_fhir(record, CTX)
    assert back["name"][0] == {"use": "official", "family": "Núñez", "given": ["Renée", "Ana María"]}
    assert back["birthDate"] == "1980-05-02" and back["gender"] == "other"
    again = patient_for_create(back, CTX).fields
    assert {k: again.get(k) for k in body.fields} == body.fields


def test_same_patient_compares_names_and_birth_date_exactly_after_nfc() -> None:
    body = {"first_name": "Renée", "last_name": "Núñez", "date_of_birth": "1980-05-02"}
    assert same_patient(
        body, {"first_name": "Rene\u0301e", "last_name": "Nu\u0301n\u0303ez", "date_of_birth": "1980-05-02"}
    )
    assert not same_patient(body, {**body, "first_name": "Renee"})
    assert not same_patient(body, {**body, "date_of_birth": None})


def test_an_update_sends_only_what_the_patient_does_not_hold_already() -> None:
    # A vendor whose uniqueness check does not leave the patient out refuses its own chart
    # number sent again (409 "duplicate chart number"): what the record holds is not sent.
    body = patient_for_update(_patient(identifier=[{"system": CTX.system("chart-number"), "value": "C1"}]), CTX)
    cleared = [name for name, value in body.fields.items() if value is None]
    assert cleared
    # A null is sent only to clear a value; the record holds none (null, or an empty text).
    record = {**body.fields, "chart_number": "C1", cleared[0]: ""}
    assert changes(body.fields, record) == {}
    assert changes(body.fields, {**record, cleared[0]: "kept"}) == {cleared[0]: None}
    moved = changes(body.fields, {**record, "chart_number": "C2", "last_name": "Other", "city": "Elsewhere"})
    assert moved == {"chart_number": "C1", "last_name": body.fields["last_name"], "city": body.fields["city"]}


@pytest.mark.parametrize(
    ("addresses", "kept", "not_stored"),
    [
        # Before, only the first address was tried: nothing of it has a field, so the patient
        # was stored without an address although the second one has every part the vendor keeps.
        ([{"text": "12 Main St"}, {"line": ["1 Main"], "city": "Austin"}], 1, {"Patient.address[0]"}),
        (
            [{"line": ["9 Old Rd"], "city": "Waco"}, {"line": ["1 Main"], "city": "Austin"}, {"city": "Dallas"}],
            0,
            {"Patient.address[1]", "Patient.address[2]"},
        ),
        # An address "no longer in use" (R4 address-use `old`) is not stored as the patient's one
        # when another is there.
        (
            [{"use": "old", "line": ["9 Old Rd"], "city": "Waco"}, {"line": ["1 Main"], "city": "Austin"}],
            1,
            {"Patient.address[0]"},
        ),
        (
            [{"use": "temp", "line": ["9 Old Rd"], "city": "Waco"}, {"line": ["1 Main"], "city": "Austin"}],
            1,
            {"Patient.address[0]"},
        ),
    ],
)
def test_one_address_is_kept_and_every_other_is_named(
    addresses: list[dict[str, Any]], kept: int, not_stored: set[str]
) -> None:
    for mapping in (patient_for_create, patient_for_update):
        body = mapping({**_patient(), "address": addresses}, CTX)
        assert {path for path in body.not_stored if path.startswith("Patient.address")} == not_stored
        read = patient_to_fhir({"id": "x", **body.fields}, CTX)["address"]
        assert read == [{k: v for k, v in addresses[kept].items() if k != "use"}]


@pytest.mark.parametrize("use", ["old", "temp"])
def test_an_address_email_or_chart_number_that_is_not_the_current_one_is_refused(use: str) -> None:
    # Each is kept without a use (patient.py), so it would read back as the current one, which
    # the modifier `use` says it is not. Before: stored, `use` only reported as not stored.
    cases = {
        "Patient.address[0].use": {"address": [{"use": use, "line": ["1 Main"], "city": "Austin"}]},
        "Patient.telecom[0].use": {"telecom": [{"system": "email", "value": "a@example.org", "use": use}]},
        "Patient.identifier[0].use": {"identifier": [{"system": CHART, "value": "C1", "use": use}]},
    }
    for path, extra in cases.items():
        for mapping in (patient_for_create, patient_for_update):
            with pytest.raises(UnsupportedModifier) as refused:
                mapping({**_patient(), **extra}, CTX)
            assert refused.value.expression == path and "nothing was written" in refused.value.diagnostics
    # A current email beside an old one is the one kept; the old one is left out, and named.
    emails = [{"system": "email", "value": "old@example.org", "use": use}, {"system": "email", "value": "now@x.org"}]
    body = patient_for_create({**_patient(), "telecom": emails}, CTX)
    assert body.fields["email"] == "now@x.org" and "Patient.telecom[0]" in body.not_stored


def test_the_chart_numbers_use_type_period_and_assigner_are_named_unless_they_read_back() -> None:
    # The vendor keeps a chart number's value; a read gives it `use: official` and the MR type
    # (patient.py). Before, whatever else the client sent of it was dropped without a word.
    resource = {
        **_patient(),
        "identifier": [
            {
                "use": "secondary",
                "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "PI"}]},
                "system": CHART,
                "value": "C00042",
                "period": {"start": "2020-01-01"},
                "assigner": {"display": "Front desk"},
            },
            {"system": CHART, "value": "C00043"},  # the vendor keeps one
        ],
    }
    for mapping in (patient_for_create, patient_for_update):
        body = mapping(resource, CTX)
        assert body.fields["chart_number"] == "C00042"
        assert {p for p in body.not_stored if p.startswith("Patient.identifier")} == {
            "Patient.identifier[0].use",
            "Patient.identifier[0].type.coding[0]",
            "Patient.identifier[0].period",
            "Patient.identifier[0].assigner",
            "Patient.identifier[1]",
        }
    typed = {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}],
                      "text": "Practice chart"}}  # fmt: skip
    body = patient_for_create({**_patient(), "identifier": [{"system": CHART, "value": "C1", **typed}]}, CTX)
    assert {p for p in body.not_stored if p.startswith("Patient.identifier")} == {"Patient.identifier[0].type.text"}


def test_marital_status_text_and_codings_the_vendor_does_not_keep_are_named() -> None:
    # The vendor keeps one enum value: it reads back as its v3 coding and display.
    concept = {
        "coding": [
            {"system": "http://snomed.info/sct", "code": "87915002", "display": "Married"},
            {"system": "http://terminology.hl7.org/CodeSystem/v3-MaritalStatus", "code": "M", "display": "Wed"},
        ],
        "text": "Married, lives apart",
    }
    body = patient_for_create({**_patient(), "maritalStatus": concept}, CTX)
    assert body.fields["marital_status"] == "married"
    assert {p for p in body.not_stored if p.startswith("Patient.maritalStatus")} == {
        "Patient.maritalStatus.coding[0]",
        "Patient.maritalStatus.coding[1].display",
        "Patient.maritalStatus.text",
    }
    # A code of another system is no marital status of the vendor's, whatever it spells.
    other = {"coding": [{"system": "http://example.org/marital", "code": "M"}]}
    body = patient_for_create({**_patient(), "maritalStatus": other}, CTX)
    assert "marital_status" not in body.fields and "Patient.maritalStatus" in body.not_stored


def test_a_language_text_and_codings_the_vendor_does_not_keep_are_named() -> None:
    # The vendor keeps one preferred language as text: a BCP-47 code is kept first, and it
    # reads back as the code (text and coding). Before, the client's text and other codings went.
    communication = [
        {"language": {"text": "English"}},
        {
            "language": {
                "coding": [
                    {"system": "urn:iso:std:iso:639-2", "code": "spa"},
                    {"system": "urn:ietf:bcp:47", "code": "es-MX", "display": "Spanish (Mexico)"},
                ],
                "text": "Spanish",
            },
            "preferred": True,
        },
    ]
    body = patient_for_create({**_patient(), "communication": communication}, CTX)
    assert body.fields["preferred_language"] == "es-MX"
    assert {p for p in body.not_stored if p.startswith("Patient.communication")} == {
        "Patient.communication[0]",
        "Patient.communication[1].language.coding[0]",
        "Patient.communication[1].language.coding[1].display",
        "Patient.communication[1].language.text",
    }
    # A code of another system reads back as a BCP-47 tag: its system is not kept.
    iso = [{"language": {"coding": [{"system": "urn:iso:std:iso:639-2", "code": "spa"}]}, "preferred": False}]
    body = patient_for_create({**_patient(), "communication": iso}, CTX)
    assert {p for p in body.not_stored if p.startswith("Patient.communication")} == {
        "Patient.communication[0].language.coding[0].system",
        "Patient.communication[0].preferred",  # the vendor's one language is its preferred one
    }


def test_what_a_read_gives_is_written_back_without_a_loss() -> None:
    # A client reading a patient and sending it back whole is told of nothing not stored.
    record = json.loads(GOLDEN_FULL.read_text())["record"]
    read = patient_to_fhir(record, CTX)
    body = patient_for_update(read, CTX)
    assert body.not_stored == ()
    assert {name: body.fields[name] for name in body.fields if body.fields[name] is not None} == {
        name: record[name] for name in OWNED if record.get(name)
    } | {"chart_number": record["chart_number"]}


@pytest.mark.parametrize(
    ("names", "fields", "not_stored"),
    [
        # A usual name alone is the legal name the vendor requires; it reads back official
        # (patient.py), so its use is said not to be stored. Before, nothing was said.
        ([{"use": "usual", "family": "Doe", "given": ["Jo"]}], ("Jo", None), {"Patient.name[0].use"}),
        # A name without a use is the legal name, and a usual one beside it the preferred name.
        # Before, the usual name (first in the list) took the legal name's place and the other
        # was not stored.
        (
            [{"use": "usual", "family": "Doe", "given": ["Jo"]}, {"family": "Doe", "given": ["Joseph"]}],
            ("Joseph", "Jo"),
            set(),
        ),
        # A usual name whose given name is the first name does not read back (patient.py shows
        # a preferred name only when it is another): named. Before, it went without a word.
        (
            [{"use": "official", "family": "Doe", "given": ["Jo"]}, {"use": "usual", "given": ["Jo"]}],
            ("Jo", None),
            {"Patient.name[1]"},
        ),
        (
            [
                {"use": "official", "family": "Doe", "given": ["Jo"]},
                {"use": "nickname", "given": ["JJ"]},
                {"family": "Doe", "given": ["Joe"]},
                {"use": "usual", "family": "Doe", "given": ["Joey"]},
            ],
            ("Jo", "Joey"),
            {"Patient.name[1]", "Patient.name[2]"},
        ),
    ],
)
def test_the_legal_name_is_the_official_one_and_every_name_not_kept_is_named(
    names: list[dict[str, Any]], fields: tuple[str, str | None], not_stored: set[str]
) -> None:
    for mapping in (patient_for_create, patient_for_update):
        body = mapping({**_patient(), "name": names}, CTX)
        assert (body.fields["first_name"], body.fields.get("preferred_name")) == fields
        assert {p.partition(" (")[0] for p in body.not_stored if p.startswith("Patient.name")} == not_stored


def test_a_chart_number_is_named_by_the_identifier_it_came_from() -> None:
    other = {"system": "urn:example:other", "value": "X"}
    resource = {
        "identifier": [other, {"system": CHART}, {"system": CHART, "value": "C1"}, {"system": CHART, "value": "C2"}]
    }
    assert chart_number_path(resource, CTX) == "Patient.identifier[2]"
    assert (
        patient_for_create(
            {"resourceType": "Patient", **resource, "name": [{"family": "F", "given": ["G"]}]}, CTX
        ).fields["chart_number"]
        == "C1"
    )  # the same identifier the body takes it from
    assert chart_number_path({"identifier": [other]}, CTX) == "Patient.identifier"


@pytest.mark.parametrize("use", ["old", "temp"])
def test_a_current_chart_number_is_kept_beside_an_old_one_listed_first(use: str) -> None:
    # A renumbered chart: the old number listed first, the current one after it. The current one
    # is stored and the old one named, as for an address or email. Before: 422, the old one
    # taken (the first of the system) and refused as not current.
    identifiers = [
        {"system": CHART, "value": "A100", "use": use},
        {"system": CHART, "value": "B200", "use": "official"},
    ]
    resource = {**_patient(), "identifier": identifiers}
    for mapping in (patient_for_create, patient_for_update):
        body = mapping(resource, CTX)
        assert body.fields["chart_number"] == "B200"
        assert "Patient.identifier[0]" in body.not_stored
        assert not [path for path in body.not_stored if path.startswith("Patient.identifier[1]")]
    assert chart_number_path(resource, CTX) == "Patient.identifier[1]"  # where outcomes name it
    # Only not-current ones: the first is taken, and refused.
    with pytest.raises(UnsupportedModifier) as refused:
        patient_for_create({**resource, "identifier": [identifiers[0], {**identifiers[1], "use": use}]}, CTX)
    assert refused.value.expression == "Patient.identifier[0].use"
