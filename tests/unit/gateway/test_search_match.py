from typing import Any

from gateway.contract import ResourceProvider
from gateway.search.match import matches
from gateway.search.parse import parse_search
from mappings.dentalpms import capabilities
from mappings.nextvisit import capabilities as nextvisit_capabilities

PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "p1",
    "meta": {"lastUpdated": "2024-06-20T14:45:00Z"},
    "identifier": [{"system": "urn:t/chart-number", "value": "C00042"}],
    "name": [{"family": "Núñez-O'Brien", "given": ["José", "María"]}],
    "telecom": [{"system": "phone", "value": "(555) 010-2030"}, {"system": "email", "value": "Jose@Example.org"}],
    "gender": "male",
    "birthDate": "1985-03-15",
    "active": True,
}


async def _unused(*args: object) -> Any:
    raise AssertionError("matching never calls a vendor")


SUPPORT = {
    d.type: ResourceProvider(d, _unused, _unused).support
    for d in (capabilities.PATIENT, capabilities.ALLERGY, capabilities.MEDICATION, capabilities.OBSERVATION)
}


def hit(resource: dict[str, Any], *items: tuple[str, str]) -> bool:
    parsed = parse_search(SUPPORT[resource["resourceType"]], list(items), strict=True, default_count=20, max_count=100)
    return matches(resource, parsed.query)


def test_string_default_is_case_and_accent_insensitive_prefix() -> None:
    assert hit(PATIENT, ("family", "nunez"))
    assert hit(PATIENT, ("given", "JOSE"))
    assert hit(PATIENT, ("name", "mar"))
    assert not hit(PATIENT, ("family", "brien"))


def test_string_exact_and_contains() -> None:
    assert hit(PATIENT, ("family:exact", "Núñez-O'Brien"))
    assert not hit(PATIENT, ("family:exact", "nunez-o'brien"))
    assert hit(PATIENT, ("family:contains", "obrien".replace("o", "o'", 1)))
    assert hit(PATIENT, ("family:contains", "BRIEN"))


def test_parameters_are_anded_and_values_ored() -> None:
    assert hit(PATIENT, ("family", "smith,nunez"), ("gender", "male"))
    assert not hit(PATIENT, ("family", "nunez"), ("gender", "female"))
    assert not hit(PATIENT, ("birthdate", "ge1985"), ("birthdate", "lt1985-03"))
    assert hit(PATIENT, ("birthdate", "ge1985"), ("birthdate", "lt1985-04"))


def test_tokens() -> None:
    assert hit(PATIENT, ("identifier", "C00042"))
    assert hit(PATIENT, ("identifier", "urn:t/chart-number|C00042"))
    assert not hit(PATIENT, ("identifier", "urn:other|C00042"))
    assert not hit(PATIENT, ("identifier", "c00042"))
    assert hit(PATIENT, ("phone", "5550102030"))
    assert hit(PATIENT, ("email", "jose@example.org"))
    assert hit(PATIENT, ("active", "true"))
    assert not hit(PATIENT, ("active", "false"))


def test_a_phone_written_with_the_north_american_country_code_is_the_same_number() -> None:
    # A vendor that stores phones in E.164 (`+15550102030`, as libphonenumber formats them) and
    # a client that writes the national number, or the other way round.
    e164 = {**PATIENT, "telecom": [{"system": "phone", "value": "+15550102030"}]}
    assert hit(e164, ("phone", "5550102030"))
    assert hit(e164, ("phone", "(555) 010-2030"))
    assert hit(e164, ("phone", "+1 555 010 2030"))
    assert hit(PATIENT, ("phone", "+15550102030"))
    assert hit(PATIENT, ("phone", "1-555-010-2030"))
    assert hit(PATIENT, ("phone", "1 (555) 010-2030"))
    # Another country's number with the same last ten digits is another number; so is eleven
    # digits written without a country code's `+` or separator.
    assert not hit(e164, ("phone", "+445550102030"))
    assert not hit(PATIENT, ("phone", "+445550102030"))
    assert not hit(PATIENT, ("phone", "15550102030"))


def test_a_phone_stored_as_eleven_bare_digits_is_found_by_the_same_number_written_any_way() -> None:
    # A vendor that stores E.164 without its `+` (`15550102030`): every writing of those
    # eleven digits is that number, as it was before country codes were read.
    bare = {**PATIENT, "telecom": [{"system": "phone", "value": "15550102030"}]}
    assert hit(bare, ("phone", "15550102030"))
    assert hit(bare, ("phone", "+15550102030"))
    assert hit(bare, ("phone", "+1 555 010 2030"))
    assert hit(bare, ("phone", "1-555-010-2030"))
    assert not hit(bare, ("phone", "+445550102030"))


def test_a_code_element_is_found_by_its_implicit_system() -> None:
    # terminologies.html#code: a `code` element's system is the one its binding defines, so
    # US Core's gender={system|}[code] and status=system|code find it; another system does not.
    assert hit(PATIENT, ("gender", "http://hl7.org/fhir/administrative-gender|male"))
    assert hit(PATIENT, ("gender", "http://hl7.org/fhir/administrative-gender|"))
    assert not hit(PATIENT, ("gender", "http://snomed.info/sct|male"))
    assert not hit(PATIENT, ("gender", "|male"))  # "|" asks for no system, and the code has one
    assert hit(PATIENT, ("gender", "male"))
    taken = {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
    }
    system = "http://hl7.org/fhir/CodeSystem/medication-statement-status"
    assert hit(taken, ("patient", "p1"), ("status", f"{system}|active"))
    assert not hit(taken, ("patient", "p1"), ("status", f"{system}|stopped"))
    assert not hit(taken, ("patient", "p1"), ("status", "http://hl7.org/fhir/observation-status|active"))


def test_last_updated_and_missing_values() -> None:
    assert hit(PATIENT, ("_lastUpdated", "ge2024-06-20"))
    assert not hit(PATIENT, ("_lastUpdated", "lt2024-06-20"))
    no_dob = {k: v for k, v in PATIENT.items() if k != "birthDate"}
    assert not hit(no_dob, ("birthdate", "ge1900"))
    assert not hit(no_dob, ("birthdate", "ne1985"))  # no value: no parameter can match it


def test_observation_code_category_and_date() -> None:
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2024-03-01T09:15:00-06:00",
    }
    assert hit(obs, ("patient", "p1"), ("code", "http://loinc.org|8867-4"))
    assert hit(obs, ("subject", "Patient/p1"), ("code", "8867-4"), ("category", "vital-signs"))
    assert not hit(obs, ("patient", "p1"), ("code", "http://snomed.info/sct|8867-4"))
    assert hit(obs, ("patient", "p1"), ("date", "2024-03-01T15:15:00Z"))
    assert hit(obs, ("patient", "p1"), ("date", "ge2024-03-01"), ("date", "lt2024-03-02"))
    assert not hit(obs, ("patient", "p2"))


def _visit(status: str, start: str, end: str | None = None) -> dict[str, Any]:
    period = {"start": start, **({"end": end} if end else {})}
    return {"resourceType": "Encounter", "id": "e1", "status": status, "subject": {"reference": "Patient/7"},
            "period": period}  # fmt: skip


def encounter_hit(resource: dict[str, Any], *items: tuple[str, str]) -> bool:
    support = ResourceProvider(nextvisit_capabilities.ENCOUNTER, _unused, _unused).support
    parsed = parse_search(support, [("patient", "7"), *items], strict=True, default_count=20, max_count=100)
    return matches(resource, parsed.query)


def test_a_visit_not_under_way_with_only_its_start_takes_place_at_that_start() -> None:
    # A vendor that records a visit by one date or time writes no end: the visit is still over
    # (or has not begun).
    for start in ("2025-01-04", "2025-01-04T14:30:00Z"):
        for status in ("finished", "cancelled", "planned"):
            visit = _visit(status, start)
            assert encounter_hit(visit, ("date", "2025-01-04"))
            assert encounter_hit(visit, ("date", "2025"))
            assert encounter_hit(visit, ("date", "lt2025-04-01"))
            assert not encounter_hit(visit, ("date", "ge2025-04-01"))
            assert not encounter_hit(visit, ("date", "gt2025-01-05"))
    # One still going on (or not begun) is open-ended, as R4 Period reads an absent end.
    ongoing = _visit("in-progress", "2025-01-04T14:30:00Z")
    assert encounter_hit(ongoing, ("date", "ge2025-04-01"))
    assert not encounter_hit(ongoing, ("date", "2025-01-04"))
    # A period with both ends is what it says.
    assert encounter_hit(_visit("finished", "2025-01-04T14:30:00Z", "2025-01-04T15:00:00Z"), ("date", "2025-01-04"))
