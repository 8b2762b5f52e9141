"""The conformance validators pass the official US Core examples and catch each kind of fault.

Examples come from the US Core 6.1.0 package itself (``package/example/*.json``); each
mutation breaks exactly one rule, and the test names the layer that must report it.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conformance import (
    assert_conformant,
    check_capability_statement,
    check_resource,
    conformance_data_dir,
    require_conformance_data,
)
from conformance.data import US_CORE_BASE, us_core
from conformance.profiles import validator

JSON = dict[str, Any]

# The profiles the gateway emits (US Core 6.1.0 where it has one).
GATEWAY_PROFILES = [
    "us-core-patient",
    "us-core-allergyintolerance",
    "us-core-blood-pressure",
    "us-core-heart-rate",
    "us-core-respiratory-rate",
    "us-core-pulse-oximetry",
    "us-core-body-temperature",
    "us-core-body-height",
    "us-core-body-weight",
    "us-core-bmi",
    "pediatric-bmi-for-age",
    "us-core-encounter",
    "us-core-documentreference",
    "us-core-condition-problems-health-concerns",
]

# Every official example of those profiles (file names in package/example/).
OFFICIAL_EXAMPLES = [
    "Patient-example",
    "Patient-child-example",
    "Patient-deceased-example",
    "Patient-infant-example",
    "Patient-example-targeted-provenance",
    "AllergyIntolerance-example",
    "Observation-blood-pressure",
    "Observation-bp-data-absent",
    "Observation-heart-rate",
    "Observation-respiratory-rate",
    "Observation-oxygen-saturation",
    "Observation-satO2-fiO2",
    "Observation-temperature",
    "Observation-height",
    "Observation-length",
    "Observation-weight",
    "Observation-bmi",
    "Observation-pediatric-bmi-example",
    "Encounter-1036",
    "Encounter-delivery",
    "Encounter-example-1",
    "DocumentReference-discharge-summary",
    "DocumentReference-episode-summary",
    "Condition-condition-duodenal-ulcer",
    "Condition-condition-SDOH-example",
    "Condition-health-concern-example",
]


def example(name: str) -> JSON:
    resource: JSON = copy.deepcopy(us_core().examples[name])
    return resource


def mutated(name: str, change: Callable[[JSON], object]) -> JSON:
    resource = example(name)
    change(resource)
    return resource


def reported(problems: list[str], prefix: str, *fragments: str) -> bool:
    return any(p.startswith(prefix) and all(f in p for f in fragments) for p in problems)


def component_without(code: str) -> Callable[[JSON], object]:
    def change(observation: JSON) -> None:
        observation["component"] = [c for c in observation["component"] if c["code"]["coding"][0]["code"] != code]

    return change


# --- the official examples pass -------------------------------------------------------------


@pytest.mark.parametrize("name", OFFICIAL_EXAMPLES)
def test_official_us_core_example_passes(name: str) -> None:
    require_conformance_data()
    resource = example(name)
    profiles = resource["meta"]["profile"]
    assert any(p.removeprefix(US_CORE_BASE) in GATEWAY_PROFILES for p in profiles)
    assert check_resource(resource) == []


def test_every_gateway_profile_loads_and_has_a_passing_example() -> None:
    require_conformance_data()
    covered = {
        p.removeprefix(US_CORE_BASE) for name in OFFICIAL_EXAMPLES for p in us_core().examples[name]["meta"]["profile"]
    }
    assert set(GATEWAY_PROFILES) <= covered
    for profile in GATEWAY_PROFILES:
        assert validator().unusable(US_CORE_BASE + profile) is None, profile


def test_bundle_of_examples_passes_and_entry_problems_carry_the_entry_path() -> None:
    require_conformance_data()
    entries = [
        {"fullUrl": f"urn:uuid:{i:08d}-0000-4000-8000-000000000000", "resource": example(name)}
        for i, name in enumerate(["Patient-example", "Observation-heart-rate"])
    ]
    bundle: JSON = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    assert check_resource(bundle) == []

    del bundle["entry"][1]["resource"]["category"]
    problems = check_resource(bundle)
    assert reported(problems, "profile us-core-heart-rate Bundle.entry[1].resource.category")


def test_a_resource_checked_again_names_the_path_it_is_checked_at() -> None:
    # Problems are remembered by content (conformance.check): the same resource, checked alone
    # and then as two entries, is reported at each of its own paths.
    require_conformance_data()
    observation = mutated("Observation-heart-rate", lambda o: o.pop("category"))
    alone = check_resource(observation)
    assert reported(alone, "profile us-core-heart-rate Observation.category")
    bundle: JSON = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:{i:08d}-0000-4000-8000-000000000000", "resource": copy.deepcopy(observation)}
            for i in range(2)
        ],
    }
    problems = check_resource(bundle)
    for index in range(2):
        assert reported(problems, f"profile us-core-heart-rate Bundle.entry[{index}].resource.category")
    assert len(problems) == 2 * len(alone)
    assert check_resource(observation, "Parameters.parameter[0].resource") == [
        p.replace("Observation.", "Parameters.parameter[0].resource.", 1) for p in alone
    ]


def test_a_property_named_like_the_path_placeholder_is_reported_as_named() -> None:
    # Remembered problems hold their path as a placeholder: a resource holding that very text
    # is checked as it is, not rewritten.
    require_conformance_data()
    odd = {**example("Patient-example"), "\x00root\x00": 1}
    problems = check_resource(odd, "Bundle.entry[3].resource")
    assert problems and all(p.count("Bundle.entry[3].resource") <= 1 for p in problems), problems
    assert any("\x00root\x00" in p for p in problems), problems


def test_an_entry_without_a_resource_type_is_one_problem_not_a_missing_resource() -> None:
    require_conformance_data()
    bundle: JSON = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"active": True}}]}
    problems = check_resource(bundle)
    assert "Bundle.entry[0].resource: unknown resourceType None" in problems
    assert not [p for p in problems if "bdl-5" in p], problems  # the entry has a resource


def test_bundle_rules_still_read_each_entrys_type_and_version() -> None:
    # A Bundle goes to medplum with its entries reduced to type, id and meta (conformance.check):
    # bdl-7 (one fullUrl twice needs two versionIds) and bdl-11 (a document opens with a
    # Composition) must still see them.
    require_conformance_data()
    patient = example("Patient-example")
    twice: JSON = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://example.org/fhir/Patient/example", "resource": copy.deepcopy(patient)} for _ in range(2)
        ],
    }
    assert reported(check_resource(twice), "R4 Bundle", "bdl-7")
    versions = copy.deepcopy(twice)
    for index, entry in enumerate(versions["entry"]):
        entry["resource"]["meta"] = {**entry["resource"].get("meta", {}), "versionId": str(index + 1)}
    assert not reported(check_resource(versions), "R4 Bundle", "bdl-7")
    document: JSON = {
        "resourceType": "Bundle",
        "type": "document",
        "identifier": {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:0c3151bd-1cbf-4d64-b04d-cd9187a4c6e0"},
        "timestamp": "2024-05-01T12:00:00Z",
        "entry": [{"fullUrl": "http://example.org/fhir/Patient/example", "resource": patient}],
    }
    assert reported(check_resource(document), "R4 Bundle", "bdl-11")
    composition: JSON = {
        "resourceType": "Composition",
        "id": "summary",
        "status": "final",
        "type": {"coding": [{"system": "http://loinc.org", "code": "34133-9"}]},
        "subject": {"reference": "Patient/example"},
        "date": "2024-05-01T12:00:00Z",
        "author": [{"display": "The gateway"}],
        "title": "Summary",
    }
    document["entry"].insert(0, {"fullUrl": "http://example.org/fhir/Composition/summary", "resource": composition})
    assert not reported(check_resource(document), "R4 Bundle", "bdl-11")


def test_alias_fast_path_agrees_with_medplums_documented_call() -> None:
    require_conformance_data()
    resources = [example(n) for n in OFFICIAL_EXAMPLES] + [
        mutated("Observation-blood-pressure", component_without("8480-6")),
        mutated("Patient-example", lambda p: p.pop("identifier")),
        mutated("Observation-heart-rate", lambda o: o.pop("valueQuantity")),
    ]
    for resource in resources:
        profile = resource["meta"]["profile"][0]
        fast = validator().issues(resource, profile)
        exact = validator().issues(resource, profile, exact=True)
        assert fast == exact, resource["id"]


# --- layer 1: JSON schema -------------------------------------------------------------------


def test_schema_reports_an_unknown_element() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Patient-example", lambda p: p.update(nickname="Amy")))
    assert reported(problems, "schema Patient", "'nickname' was unexpected")


def test_schema_reports_a_wrong_type() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Patient-example", lambda p: p.update(birthDate=19870301)))
    assert reported(problems, "schema Patient.birthDate", "is not of type 'string'")


def test_schema_reports_a_code_outside_its_enum() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Observation-heart-rate", lambda o: o.update(status="done")))
    assert reported(problems, "schema Observation.status", "'done' is not one of")


def test_unknown_resource_type_is_a_problem() -> None:
    require_conformance_data()
    assert check_resource({"resourceType": "Patientt", "id": "x"}) == ["Patientt: unknown resourceType 'Patientt'"]


# --- layer 2: fhir.resources ----------------------------------------------------------------


def test_fhir_resources_reports_what_the_schema_lets_through() -> None:
    require_conformance_data()
    # The schema's date pattern accepts February 31st; the model does not.
    problems = check_resource(mutated("Patient-example", lambda p: p.update(birthDate="1987-02-31")))
    assert reported(problems, "fhir.resources Patient.birthDate", "day value is outside")
    assert not [p for p in problems if p.startswith("schema")]


# --- layer 3: US Core 6.1.0 profiles --------------------------------------------------------


def test_patient_without_identifier() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Patient-example", lambda p: p.pop("identifier")))
    assert reported(problems, "profile us-core-patient Patient.identifier", "Missing required")


def test_patient_name_without_family_given_or_data_absent_reason() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Patient-example", lambda p: p.update(name=[{"use": "official", "text": "Amy"}])))
    assert reported(problems, "profile us-core-patient Patient.name[0]", "us-core-6")


def test_patient_race_extension_is_checked_against_its_own_profile() -> None:
    require_conformance_data()

    def two_values(patient: JSON) -> None:
        race = next(e for e in patient["extension"] if e["url"].endswith("us-core-race"))
        race["extension"][0]["valueString"] = "White"

    problems = check_resource(mutated("Patient-example", two_values))
    assert reported(problems, "profile us-core-patient Patient.extension[0].extension[0]", "1..1")


def test_blood_pressure_missing_systolic_component() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Observation-blood-pressure", component_without("8480-6")))
    assert reported(problems, "profile us-core-blood-pressure Observation.component", "systolic")


def test_blood_pressure_component_unit_is_checked_inside_its_slice() -> None:
    require_conformance_data()

    def mmhg(observation: JSON) -> None:
        observation["component"][0]["valueQuantity"]["code"] = "mmHg"

    problems = check_resource(mutated("Observation-blood-pressure", mmhg))
    assert reported(
        problems,
        "profile us-core-blood-pressure Observation.component[0].valueQuantity.code",
        "'mm[Hg]'",
    )


def test_blood_pressure_component_without_value_or_data_absent_reason() -> None:
    require_conformance_data()

    def no_value(observation: JSON) -> None:
        del observation["component"][1]["valueQuantity"]

    problems = check_resource(mutated("Observation-blood-pressure", no_value))
    assert reported(problems, "profile us-core-blood-pressure Observation.component[1]", "vs-3")


def test_vital_sign_without_category() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Observation-heart-rate", lambda o: o.pop("category")))
    assert reported(problems, "profile us-core-heart-rate Observation.category")


def test_vital_sign_with_a_category_other_than_vital_signs() -> None:
    require_conformance_data()

    def laboratory(observation: JSON) -> None:
        observation["category"][0]["coding"][0]["code"] = "laboratory"

    problems = check_resource(mutated("Observation-respiratory-rate", laboratory))
    assert reported(problems, "profile us-core-respiratory-rate Observation.category", "VSCat")


def test_heart_rate_with_a_wrong_loinc_code() -> None:
    require_conformance_data()

    def body_temperature_code(observation: JSON) -> None:
        observation["code"]["coding"][0]["code"] = "8310-5"

    problems = check_resource(mutated("Observation-heart-rate", body_temperature_code))
    assert reported(problems, "profile us-core-heart-rate Observation.code", "pattern")


def test_heart_rate_with_a_wrong_ucum_unit() -> None:
    require_conformance_data()

    def bpm(observation: JSON) -> None:
        observation["valueQuantity"]["code"] = "bpm"

    problems = check_resource(mutated("Observation-heart-rate", bpm))
    assert reported(problems, "profile us-core-heart-rate Observation.valueQuantity.code", "'/min'")


def test_vital_sign_without_value_or_data_absent_reason() -> None:
    require_conformance_data()
    problems = check_resource(mutated("Observation-weight", lambda o: o.pop("valueQuantity")))
    assert reported(problems, "profile us-core-body-weight Observation", "vs-2")


def test_pulse_oximetry_without_the_o2sat_coding() -> None:
    require_conformance_data()

    def pulse_ox_only(observation: JSON) -> None:
        codings = observation["code"]["coding"]
        observation["code"]["coding"] = [c for c in codings if c["code"] != "2708-6"]

    problems = check_resource(mutated("Observation-oxygen-saturation", pulse_ox_only))
    assert reported(problems, "profile us-core-pulse-oximetry Observation.code.coding", "O2Sat")


def test_body_temperature_unit_outside_its_required_value_set() -> None:
    require_conformance_data()

    def kelvin(observation: JSON) -> None:
        observation["valueQuantity"].update(code="K", unit="K")

    problems = check_resource(mutated("Observation-temperature", kelvin))
    assert reported(problems, "profile us-core-body-temperature Observation.valueQuantity.code", "ucum-bodytemp")


def test_allergy_clinical_status_outside_its_required_value_set() -> None:
    require_conformance_data()

    def gone(allergy: JSON) -> None:
        allergy["clinicalStatus"]["coding"][0]["code"] = "gone"

    problems = check_resource(mutated("AllergyIntolerance-example", gone))
    assert reported(
        problems,
        "profile us-core-allergyintolerance AllergyIntolerance.clinicalStatus",
        "allergyintolerance-clinical",
    )


def test_condition_without_a_us_core_category() -> None:
    require_conformance_data()
    problems = check_resource(
        mutated("Condition-condition-duodenal-ulcer", lambda c: c.update(category=[{"text": "x"}]))
    )
    assert reported(
        problems,
        "profile us-core-condition-problems-health-concerns Condition.category",
        "Condition.category:us-core allows 1..*",
    )


def test_unknown_us_core_profile_is_a_problem() -> None:
    require_conformance_data()

    def unknown(patient: JSON) -> None:
        patient["meta"]["profile"] = [US_CORE_BASE + "us-core-patientt"]

    problems = check_resource(mutated("Patient-example", unknown))
    assert reported(problems, "profile us-core-patientt Patient", "not a US Core 6.1.0 profile")


def test_profile_of_another_resource_type_is_a_problem() -> None:
    require_conformance_data()

    def wrong(patient: JSON) -> None:
        patient["meta"]["profile"] = [US_CORE_BASE + "us-core-heart-rate"]

    problems = check_resource(mutated("Patient-example", wrong))
    assert problems == ["profile us-core-heart-rate Patient: profile is for Observation, not Patient"]


def test_resource_without_us_core_profile_gets_base_r4_rules() -> None:
    require_conformance_data()
    statement: JSON = {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "active",
        "medicationCodeableConcept": {"text": "Sertraline 50mg"},
        "subject": {"reference": "Patient/p1"},
    }
    assert check_resource(statement) == []
    del statement["subject"]
    assert reported(check_resource(statement), "R4 MedicationStatement.subject", "Missing required")


# --- the entry points -----------------------------------------------------------------------


def test_assert_conformant_names_the_resource_and_each_path() -> None:
    require_conformance_data()
    assert_conformant(example("Observation-heart-rate"))

    broken = mutated("Observation-heart-rate", lambda o: (o.pop("category"), o.update(foo=1)))
    with pytest.raises(AssertionError) as raised:
        assert_conformant(broken)
    message = str(raised.value)
    assert message.startswith("Observation/heart-rate is not conformant")
    assert "Observation.category" in message
    assert "Observation.foo" in message


def capability_statement() -> JSON:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2025-01-01",
        "kind": "instance",
        "implementation": {"description": "FHIR gateway", "url": "https://example.org/fhir/t1"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "searchParam": [{"name": "family", "type": "string"}],
                    }
                ],
            }
        ],
    }


def test_capability_statement_checks() -> None:
    require_conformance_data()
    assert check_capability_statement(capability_statement()) == []

    cs = capability_statement()
    cs.update(fhirVersion="4.3.0", format=["xml"], kind="capability")
    cs["rest"][0]["resource"][0]["searchParam"].append({"name": "birthdate"})
    problems = check_capability_statement(cs)
    assert reported(problems, "capability CapabilityStatement.fhirVersion", "'4.3.0'")
    assert reported(problems, "capability CapabilityStatement.format", "no json")
    assert reported(problems, "capability CapabilityStatement.kind", "'capability'")
    assert reported(problems, "capability CapabilityStatement.rest[0].resource[0].searchParam[1]", "no type")
    assert check_capability_statement({"resourceType": "Patient"}) != []


def test_data_dir_comes_from_the_environment_or_beside_the_repo(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    require_conformance_data()
    monkeypatch.delenv("FHIR_GATEWAY_CONFORMANCE_DATA", raising=False)
    repo_root = Path(__file__).resolve().parents[2]
    assert conformance_data_dir() == repo_root.parent / "shared" / "conformance-data"

    monkeypatch.setenv("FHIR_GATEWAY_CONFORMANCE_DATA", str(tmp_path))
    assert conformance_data_dir() == tmp_path
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="set FHIR_GATEWAY_CONFORMANCE_DATA"):
        require_conformance_data()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="standards data not found"):
        require_conformance_data()
