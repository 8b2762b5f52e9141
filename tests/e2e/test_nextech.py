"""Nextech tenant end to end: clinic truth → Nextech sandbox (OAuth, HTTP) → gateway → FHIR."""

from __future__ import annotations

import asyncio
import base64
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from gateway.connect import connect
from gateway.contract import AdapterConfig, TenantContext
from gateway.sandbox_host import serve_in_thread
from gateway.upstream.oauth import token_client
from gateway.upstream.token_store import TokenStore
from mappings.nextech.adapter import NextechAdapter
from mappings.nextech.client import oauth_app
from mappings.nextech.options import NextechOptions
from sandboxes.clinic import Clinic, Patient, build_clinic
from sandboxes.nextech.app import create_app
from tests.support.clinic import live_patients
from tests.support.fhir_http import FhirHttp, assert_refused_as_incomplete, outcome_of, record_is_complete
from tests.support.text import fold

TENANT = "nextech"
BASE = f"/fhir/{TENANT}"


def _fhir_id(p: Patient) -> str:
    return f"{p.id}.{p.chart_number}"


@pytest.mark.parametrize(
    ("params", "predicate"),
    [
        ({"family": "Smith"}, lambda p: fold(p.last_name).startswith("smith")),  # Smith, Smithson, Smithers
        ({"family:exact": "Smith"}, lambda p: p.last_name == "Smith"),
        (
            {"name": "garcia", "birthdate": "ge1980"},
            lambda p: (
                any(fold(n).startswith("garcia") for n in (p.first_name, p.middle_name, p.last_name) if n)
                and p.birth_date is not None
                and p.birth_date.year >= 1980
            ),
        ),
    ],
)
def test_term_searches_obey_fhir_semantics(
    fhir: FhirHttp, clinic: Clinic, params: dict[str, str], predicate: Any
) -> None:
    expected = {_fhir_id(p) for p in live_patients(clinic) if predicate(p)}
    assert expected
    assert {r["id"] for r in fhir.search_all(f"{BASE}/Patient", **params)} == expected


def test_given_names_say_what_nextech_cannot_find(fhir: FhirHttp, clinic: Clinic) -> None:
    bundle = fhir.get_ok(f"{BASE}/Patient", params={"given": "jo", "_count": "100"})
    found = {e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"}
    by_first = {_fhir_id(p) for p in live_patients(clinic) if fold(p.first_name).startswith("jo")}
    by_middle = {_fhir_id(p) for p in live_patients(clinic) if p.middle_name and fold(p.middle_name).startswith("jo")}
    assert by_first <= found <= by_first | by_middle  # middle names found only beside a first or last J…
    outcome = next(e["resource"] for e in bundle["entry"] if e["search"]["mode"] == "outcome")
    assert outcome["issue"][0]["severity"] == "warning" and "middle name" in outcome["issue"][0]["diagnostics"]
    assert by_middle - found  # the warning is about real patients, not a formality


def test_chart_numbers_sharing_a_prefix(fhir: FhirHttp, clinic: Clinic) -> None:
    # Nextech's term "C0001" returns C00010..C00019; FHIR identifier tokens match exactly.
    sharing = [p for p in live_patients(clinic) if p.chart_number.startswith("C0001")]
    assert len(sharing) > 1
    assert fhir.search_all(f"{BASE}/Patient", identifier="C0001") == []
    for target in sharing[:3]:
        assert [r["id"] for r in fhir.search_all(f"{BASE}/Patient", identifier=target.chart_number)] == [
            _fhir_id(target)
        ]


def test_patients_read_back_and_match_the_clinic(fhir: FhirHttp, clinic: Clinic) -> None:
    for truth in live_patients(clinic)[::10]:
        resource = fhir.get_ok(f"{BASE}/Patient/{_fhir_id(truth)}")
        assert resource["name"][0]["family"] == truth.last_name
        assert resource.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
        assert truth.chart_number in {i["value"] for i in resource["identifier"]}
    assert fhir.get(f"{BASE}/Patient/1.C99999").status_code == 404


def test_a_search_nextech_cannot_answer_is_refused(fhir: FhirHttp) -> None:
    response = fhir.get(f"{BASE}/Patient", params={"birthdate": "ge1980"})
    assert response.status_code == 400
    assert "name" in outcome_of(response)["issue"][0]["diagnostics"]


def test_encounters_match_the_clinic(fhir: FhirHttp, clinic: Clinic) -> None:
    for truth in live_patients(clinic)[::6]:
        got = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(truth))
        charted = [e for e in truth.encounters if e.status in ("finished", "arrived")]
        assert Counter(e["period"]["start"][:16] for e in got) == Counter(e.start.isoformat()[:16] for e in charted), (
            truth.id
        )
        for encounter in got:
            truth_encounter = next(e for e in charted if e.start.isoformat()[:16] == encounter["period"]["start"][:16])
            assert encounter["status"] == ("finished" if truth_encounter.locked else "in-progress")
            assert encounter["participant"][0]["individual"]["display"]
            # One instant per visit, the "date when this encounter occurred": it ends there,
            # signed or not (an unsigned note is no visit still under way).
            assert encounter["period"].get("end") == encounter["period"]["start"], encounter["id"]


def test_an_unsigned_visit_is_found_on_its_day_only(fhir: FhirHttp, clinic: Clinic) -> None:
    for truth in live_patients(clinic):
        unsigned = [e for e in truth.encounters if e.status in ("finished", "arrived") and not e.locked]
        if unsigned:
            break
    else:
        pytest.fail("the clinic has no unsigned visit")
    visit = unsigned[0]
    day = visit.start.date()
    on_the_day = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(truth), date=day.isoformat())
    assert visit.start.isoformat()[:16] in {e["period"]["start"][:16] for e in on_the_day}
    later = (day + timedelta(days=30)).isoformat()
    after = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(truth), date=f"gt{later}")
    assert visit.start.isoformat()[:16] not in {e["period"]["start"][:16] for e in after}


def test_encounter_date_and_read(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = max(live_patients(clinic), key=lambda p: sum(e.status in ("finished", "arrived") for e in p.encounters))
    everything = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient))
    day = sorted(e["period"]["start"][:10] for e in everything)[len(everything) // 2]
    later = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient), date=f"ge{day}")
    assert {e["id"] for e in later} == {e["id"] for e in everything if e["period"]["start"][:10] >= day}
    for encounter in everything[:3]:
        assert fhir.get_ok(f"{BASE}/Encounter/{encounter['id']}") == encounter


def test_a_vendor_ccd_is_dated_by_its_encounter(fhir: FhirHttp, clinic: Clinic) -> None:
    # Its period is the encounter's instant: without an end it read as ongoing (FHIR Period),
    # and every date filter after the visit still found a CCD of years before.
    patient = max(live_patients(clinic), key=lambda p: sum(e.status in ("finished", "arrived") for e in p.encounters))
    documents = fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(patient))
    dated = sorted(
        (d for d in documents if not d["id"].startswith("ccd-")), key=lambda d: d["context"]["period"]["start"]
    )
    assert len(dated) >= 2
    first = dated[0]
    assert first["context"]["period"]["end"] == first["context"]["period"]["start"]
    day = first["context"]["period"]["start"][:10]
    on_the_day = fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(patient), period=day)
    assert first["id"] in {d["id"] for d in on_the_day}
    later = dated[-1]["context"]["period"]["start"][:10]
    assert later > day
    after = fhir.get_ok(f"{BASE}/DocumentReference/$docref", params={"patient": _fhir_id(patient), "start": later})
    found = {e["resource"]["id"] for e in after.get("entry", []) if e["search"]["mode"] == "match"}
    assert dated[-1]["id"] in found and first["id"] not in found


def test_ccd_documents_binaries_and_sections(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = max(live_patients(clinic), key=lambda p: len(p.allergies))
    found = fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(patient))
    documents = [d for d in found if not d["id"].startswith("ccd-")]  # the vendor's, beside the generated
    encounters = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(patient))
    assert len(documents) == len(encounters) > 0
    assert len(found) == 1 + 2 * len(encounters)  # + the patient's CCD and one generated per encounter
    document = documents[0]
    assert document["type"]["coding"][0]["code"] == "34133-9"
    encounter_ref = document["context"]["encounter"][0]["reference"]
    for_encounter = fhir.search_all(f"{BASE}/DocumentReference", encounter=encounter_ref)
    assert [d["id"] for d in for_encounter] == ["ccd-e." + encounter_ref.split("/")[1], document["id"]]
    assert fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(patient), type="http://loinc.org|34133-9")
    assert fhir.get_ok(f"{BASE}/DocumentReference/{document['id']}") == document

    whole = fhir.get(f"{BASE}/{document['content'][0]['attachment']['url']}")
    assert whole.status_code == 200 and whole.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in whole.headers["content-security-policy"]
    assert "<script" not in whole.text.lower()
    allergies = next(c for c in document["content"] if c["attachment"]["title"].endswith("Allergies"))
    section = fhir.get(f"{BASE}/{allergies['attachment']['url']}").text
    # The section's own title (a heading, a caption or a title row, as the vendor lays its CCD
    # out: sandboxes/nextech/readings.py), and no other section's.
    assert ">Allergies" in section and ">Medications" not in section
    # The vendor's section is an HTML file: asked for as html it is served, as XML it is not.
    as_html = fhir.get(f"{BASE}/{allergies['attachment']['url']}", params={"_format": "html"})
    assert as_html.status_code == 200 and as_html.text == section
    for other in ("application/xml", "application/cda+xml", "foo"):
        refused = fhir.get(f"{BASE}/{allergies['attachment']['url']}", params={"_format": other})
        assert refused.status_code == 406 and refused.json()["resourceType"] == "OperationOutcome", other
    live_allergy = next(a for a in patient.allergies if not a.deleted)
    assert live_allergy.substance in section

    as_fhir = fhir.get(
        f"{BASE}/{document['content'][0]['attachment']['url']}", headers={"Accept": "application/fhir+json"}
    )
    binary = as_fhir.json()
    assert binary["resourceType"] == "Binary" and binary["contentType"] == "text/html"
    assert base64.b64decode(binary["data"]).decode() == whole.text


def test_markup_in_clinic_data_is_shown_not_run(fhir: FhirHttp, clinic: Clinic) -> None:
    patient = clinic.awkward_patient("markup_name")
    found = fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(patient))
    document = next(d for d in found if not d["id"].startswith("ccd-"))
    html = fhir.get(f"{BASE}/{document['content'][0]['attachment']['url']}").text
    assert "&lt;script&gt;" in html and "<script>" not in html


def test_capability_statement_names_the_sections(fhir: FhirHttp) -> None:
    fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(live_patients(build_clinic())[0]))
    statement = fhir.get_ok(f"{BASE}/metadata")
    binary = next(r for r in statement["rest"][0]["resource"] if r["type"] == "Binary")
    # The section names as this Nextech spells them ("PlanOfCare", or spaced "Plan of Treatment").
    assert "Allergies" in binary["documentation"]
    assert any(name in binary["documentation"] for name in ("PlanOfCare", "Plan of Treatment"))


def test_hostile_vendor_html_is_sanitized(tmp_path: Path) -> None:
    clinic = build_clinic()
    app = create_app(clinic, client_id="c", client_secret="s", practice_id="p", hostile_html=True)
    running = serve_in_thread(app, name="hostile-nextech")
    config = AdapterConfig(
        f"{running.url}/api",
        TenantContext("hostile", "urn:h"),
        NextechOptions(client_id="c", practice_id="p", oauth_base_url=running.url),
        {"client_secret": "s"},
        token_store=tmp_path,
    )

    async def scenario() -> str:
        oauth = oauth_app(config)
        http, post = token_client(oauth)
        async with httpx.AsyncClient(follow_redirects=True) as browser:

            async def approve(url: str) -> None:
                (await browser.get(url)).raise_for_status()

            await connect("hostile", oauth, TokenStore(tmp_path), post, approve, timeout=10)
        await http.aclose()
        adapter = NextechAdapter(config)
        try:
            patient = next(
                p for p in clinic.patients if not p.deleted and any(e.status == "finished" for e in p.encounters)
            )
            encounter = next(e for e in patient.encounters if e.status == "finished")
            day = encounter.start.strftime("%Y%m%d")
            items = await adapter._encounters(
                f"{patient.id}.{patient.chart_number}", encounter.start, encounter.start, None
            )
            assert any("<script" in str(i.ccd) for i in items.records)  # the vendor really sent hostile markup
            encounter_id = next(
                f"{patient.id}.{patient.chart_number}.{i.summary.encounterId}.{day}" for i in items.records
            )
            binary = await adapter.providers["Binary"].read(f"{encounter_id}.ccd")
            return base64.b64decode(binary["data"]).decode()
        finally:
            await adapter.aclose()

    try:
        html = asyncio.run(scenario()).lower()
    finally:
        running.stop()
    for hostile in ("<script", "onerror", "javascript:", "<iframe", "<link", "evil.example", "style=", "<img"):
        assert hostile not in html, hostile


def test_clinic_truth_walk(fhir: FhirHttp, clinic: Clinic) -> None:
    """Every live patient is found (by family-name initials: Nextech cannot list), read back,
    and their charted encounters and CCDs come through; nothing deleted leaks."""
    initials = sorted({fold(p.last_name)[0] for p in clinic.patients})
    found: dict[str, dict[str, Any]] = {}
    for initial in initials:
        for resource in fhir.search_all(f"{BASE}/Patient", family=initial, _count=100):
            assert resource["id"] not in found
            found[resource["id"]] = resource
    assert set(found) == {_fhir_id(p) for p in live_patients(clinic)}
    for truth in live_patients(clinic):
        resource = found[_fhir_id(truth)]
        assert resource["name"][0].get("family") == truth.last_name
        assert resource["name"][0].get("given") == [g for g in (truth.first_name, truth.middle_name) if g]
        assert resource.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)
        encounters = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(truth))
        charted = [e for e in truth.encounters if e.status in ("finished", "arrived")]
        assert len(encounters) == len(charted), truth.id
    patient = max(live_patients(clinic), key=lambda p: len([a for a in p.allergies if not a.deleted]))
    found = fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(patient))
    document = next(d for d in found if not d["id"].startswith("ccd-"))
    html = fhir.get(f"{BASE}/{document['content'][0]['attachment']['url']}").text
    for allergy in patient.allergies:
        assert (allergy.substance in html) is (not allergy.deleted), allergy.substance
    for medication in patient.medications:
        if not medication.deleted:
            assert medication.name.split(" ")[0] in html


# -- review regressions -------------------------------------------------------------------------


def test_ids_that_name_no_real_record_are_not_found(fhir: FhirHttp, clinic: Clinic) -> None:
    truth = next(p for p in live_patients(clinic) if any(e.status == "finished" for e in p.encounters))
    encounter = fhir.search_all(f"{BASE}/Encounter", patient=_fhir_id(truth))[0]
    forged_patient = f"{truth.id}.ZZZ"
    assert fhir.search_all(f"{BASE}/Encounter", patient=forged_patient) == []
    assert fhir.get(f"{BASE}/Encounter/{encounter['id'].replace(_fhir_id(truth), forged_patient)}").status_code == 404
    assert fhir.get(f"{BASE}/DocumentReference/{encounter['id']}").status_code == 404  # no .ccd suffix
    assert fhir.get(f"{BASE}/Encounter/{_fhir_id(truth)}.1.99999999").status_code == 404
    assert fhir.get(f"{BASE}/Patient/{truth.id}.x").status_code == 404


def test_identifier_searches_nextech_cannot_do_are_refused(fhir: FhirHttp, clinic: Clinic) -> None:
    a, b = live_patients(clinic)[:2]
    assert fhir.get(f"{BASE}/Patient", params={"identifier": f"{a.chart_number},{b.chart_number}"}).status_code == 400
    by_id = fhir.get(f"{BASE}/Patient", params={"identifier": f"urn:fhir-gateway:{TENANT}/patient-id|{a.id}"})
    assert by_id.status_code == 400 and "_id" in outcome_of(by_id)["issue"][0]["diagnostics"]


def test_family_is_the_term_so_middle_names_still_match(fhir: FhirHttp, clinic: Clinic) -> None:
    truth = next(p for p in live_patients(clinic) if p.middle_name)
    bundle = fhir.get_ok(f"{BASE}/Patient", params={"family": truth.last_name, "given": truth.middle_name})
    assert _fhir_id(truth) in {e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"}
    assert all(e["search"]["mode"] == "match" for e in bundle["entry"])  # complete: no warning


def test_binary_documents_are_not_cached_or_framed(fhir: FhirHttp, clinic: Clinic) -> None:
    truth = next(p for p in live_patients(clinic) if any(e.status == "finished" for e in p.encounters))
    document = fhir.search_all(f"{BASE}/DocumentReference", patient=_fhir_id(truth))[0]
    response = fhir.get(f"{BASE}/{document['content'][0]['attachment']['url']}")
    assert response.headers["cache-control"] == "no-store"
    if not record_is_complete(fhir, "nextech", _fhir_id(truth)):  # a reading that refuses far dates
        assert_refused_as_incomplete(response)
        return
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_counts_of_incomplete_searches_are_not_claimed(fhir: FhirHttp) -> None:
    counted = fhir.get_ok(f"{BASE}/Patient", params={"given": "jo", "_summary": "count"})
    assert "total" not in counted
    assert counted["entry"][0]["search"]["mode"] == "outcome"
    accurate = fhir.get_ok(f"{BASE}/Patient", params={"given": "jo", "_total": "accurate"})
    assert "total" not in accurate


def test_a_vendor_that_does_not_echo_state_is_connected_by_the_operators_paste(tmp_path: Path) -> None:
    # The docs' authorize table lists no `state`: a Nextech written from it alone redirects
    # without one. The listener cannot tell that redirect from a forged one (the vendor may not
    # enforce PKCE), so it asks the operator to paste it; the pasted address connects.
    app = create_app(build_clinic(), client_id="c", client_secret="s", practice_id="p", oauth_state="dropped")
    running = serve_in_thread(app, name="stateless-nextech")
    options = NextechOptions(client_id="c", practice_id="p", oauth_base_url=running.url)
    config = AdapterConfig(
        f"{running.url}/api", TenantContext("stateless", "urn:s"), options, {"client_secret": "s"}, token_store=tmp_path
    )

    async def scenario() -> tuple[int, dict[str, Any]]:
        oauth = oauth_app(config)
        http, post = token_client(oauth)
        redirected: asyncio.Queue[str] = asyncio.Queue()
        refused: list[int] = []
        async with httpx.AsyncClient() as browser:

            async def approve(url: str) -> None:
                location = (await browser.get(url)).headers["location"]
                query = parse_qs(urlparse(location).query)
                assert "state" not in query and "code" in query
                refused.append((await browser.get(location)).status_code)  # the listener's answer
                await redirected.put(location)

            body = await connect("stateless", oauth, TokenStore(tmp_path), post, approve, paste=redirected.get)
        await http.aclose()
        return refused[0], body

    try:
        listener_status, body = asyncio.run(scenario())
    finally:
        running.stop()
    assert listener_status == 400  # not taken from the loopback listener unasked
    assert body.get("refresh_token")
