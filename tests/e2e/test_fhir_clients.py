"""The gateway driven by the real Python FHIR clients our users run: fhirpy and SMART fhirclient.

What they insist on: fhirpy follows a `next` link only if it starts with the
client's own base URL; fhirclient follows only absolute http(s) `next` links, and its models
are strict, rejecting any element R4 does not define, so parsing our JSON into them proves
we invent no elements. Every demo tenant that serves Patient is driven the same way: ids are
discovered by searching, results are compared with the synthetic clinic's truth (a FHIR
Patient is matched to its clinic patient by id or identifier value: clinic uuid or chart
number), and per-type tests skip when the tenant's CapabilityStatement does not list the type.

Every test runs twice: against the open demo, and against the same tenants behind
`auth = "smart"`, where the clients first get a token from the gateway's own token endpoint
(SMART Backend Services: fhirclient does the whole flow itself from the CapabilityStatement's
OAuth URIs; fhirpy and the plain client are given the token).
"""

from __future__ import annotations

import asyncio
import math
import socket
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from fhirclient import client as smart_client
from fhirclient.models.allergyintolerance import AllergyIntolerance
from fhirclient.models.bundle import Bundle
from fhirclient.models.fhirabstractbase import FHIRValidationError
from fhirclient.models.fhirabstractresource import FHIRAbstractResource
from fhirclient.models.medicationstatement import MedicationStatement
from fhirclient.models.observation import Observation
from fhirclient.models.operationoutcome import OperationOutcome
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import AsyncFHIRClient, SyncFHIRClient

from gateway.app import create_app
from gateway.sandbox_host import serve_in_thread
from gateway.settings import DEMO_CONFIG, AuditSettings, AuthServerSettings, load_settings
from mappings.registry import VENDORS
from sandboxes.clinic import Clinic, Patient
from sandboxes.registry import SANDBOXES
from tests.conftest import DEMO_TENANTS, RunningGateway, running_demo
from tests.support.clinic import live_patients, uuids
from tests.support.fhir_http import FhirHttp, playing_other_readings
from tests.support.smart import BackendClient, signing_key_file
from tests.support.text import fold

REQUESTS = {"timeout": 30}
FAMILY = "johnson"  # the clinic's commonest family name: several pages at a small page size
SMART_MODELS: dict[str, type[FHIRAbstractResource]] = {
    "AllergyIntolerance": AllergyIntolerance,
    "MedicationStatement": MedicationStatement,
    "Observation": Observation,
}
# Awkward cases whose records (or lack of them) stress the JSON the strict models read.
RECORD_CASES = (
    "many_vitals",
    "partial_vitals",
    "deleted_vitals",
    "nkda",
    "allergies_not_reviewed",
    "free_text_allergy",
    "deleted_allergy",
    "free_text_medication",
    "prn_medication",
    "deleted_medication",
    "no_records",
    "child",
)
SAMPLE_EVERY = 10  # besides the awkward cases, every tenth clinic patient's records are searched
READS_PER_PATIENT = 4  # and the first few records of each awkward case are also read by id


SCOPE = "system/*.rs"


@dataclass(frozen=True)
class Protected:
    """The demo's tenants behind `auth = "smart"`, with a registered backend-services client."""

    url: str
    client: BackendClient

    def token_url(self) -> str:
        return f"{self.url}/auth/token"


@pytest.fixture(scope="module")
def protected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Protected]:
    key = signing_key_file(tmp_path_factory.mktemp("signing"))
    client = BackendClient.new("fhir-client-tests")
    with socket.socket() as probe:  # the URL must be known before start: it names the token endpoint
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    demo = load_settings(DEMO_CONFIG)
    settings = demo.model_copy(
        update={
            "server": demo.server.model_copy(update={"auth": "smart", "public_base_url": url}),
            "auth": AuthServerSettings(
                signing_keys=[f"file:{key}"], token_lifetime=3600, clients=[client.settings([SCOPE], DEMO_TENANTS)]
            ),
            "audit": AuditSettings(sink="off"),
        }
    )
    running = serve_in_thread(
        create_app(settings, VENDORS, SANDBOXES, access_logging=False), port=port, date_header=False
    )
    yield Protected(url, client)
    running.stop()


@dataclass(frozen=True)
class Tenant:
    name: str
    root: str  # the gateway's root URL
    base: str  # the FHIR base URL the clients are given
    search_params: dict[str, set[str]]  # resource type -> search parameters, from the CapabilityStatement
    # The patients the tests page through: all of them, or, for a vendor that can only find
    # patients by name (its CapabilityStatement says which parameters a search requires),
    # those whose family name starts with S — still several pages.
    scope: dict[str, str]
    protected: Protected | None = None  # behind auth = "smart", and how to get in
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def authorization(self) -> str | None:
        return f"Bearer {self.token}" if self.token else None

    def in_scope(self, patient: Patient) -> bool:
        return not self.scope or fold(patient.last_name).startswith(self.scope["family"])

    def patient_param(self, resource_type: str) -> str:
        """The search parameter that selects a type's resources by patient (skips the test if none)."""
        if resource_type not in self.search_params:
            pytest.skip(f"tenant {self.name} does not serve {resource_type}")
        param = next((p for p in ("patient", "subject") if p in self.search_params[resource_type]), None)
        if param is None:
            pytest.skip(f"tenant {self.name} cannot search {resource_type} by patient")
        return param


MODES = [(name, mode) for mode in ("open", "smart") for name in DEMO_TENANTS]


@pytest.fixture(scope="module", params=MODES, ids=[f"{name}-{mode}" for name, mode in MODES])
def tenant(request: pytest.FixtureRequest, gateway: RunningGateway) -> Tenant:
    name, mode = request.param
    protected: Protected | None = request.getfixturevalue("protected") if mode == "smart" else None
    root = protected.url if protected else gateway.url
    base = f"{root}/fhir/{name}"
    response = httpx.get(f"{base}/metadata", timeout=30)
    assert response.status_code == 200, response.text[:500]
    resources = response.json()["rest"][0].get("resource", [])
    search_params = {r["type"]: {p["name"] for p in r.get("searchParam", [])} for r in resources}
    if "Patient" not in search_params:
        pytest.skip(f"tenant {name} does not serve Patient")
    patient = next(r for r in resources if r["type"] == "Patient")
    scope = {"family": "s"} if "requires one of" in patient.get("documentation", "") else {}
    token = protected.client.token(protected.url, SCOPE) if protected else None
    return Tenant(name, root, base, search_params, scope, protected, token)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningGateway]:
    """A demo of this module's own: it holds every patient a tenant serves to the clinic as
    built, and other modules of the session write to theirs (test_nexhealth creates patients)."""
    with running_demo(tmp_path_factory) as running:
        yield running


@pytest.fixture(scope="module")
def truth_index(clinic: Clinic) -> dict[str, Patient]:
    """Clinic patients (deleted ones too, so a leak shows) by every key a tenant may use for them."""
    index: dict[str, Patient] = {}
    for patient in clinic.patients:
        index[str(patient.uuid)] = patient
        index[patient.chart_number] = patient
    return index


def _truth_of(resource: Mapping[str, Any], index: Mapping[str, Patient]) -> Patient:
    keys = [resource["id"], *(i.get("value") for i in resource.get("identifier", []))]
    found = {index[k].uuid: index[k] for k in keys if k in index}
    assert len(found) == 1, f"Patient/{resource['id']} matches {len(found)} clinic patients by id and identifiers"
    return next(iter(found.values()))


@pytest.fixture(scope="module")
def directory(tenant: Tenant, truth_index: dict[str, Patient], clinic: Clinic) -> dict[str, dict[str, Any]]:
    """Every Patient the tenant serves, found by search with the plain HTTP client, by clinic uuid."""
    plain = FhirHttp(tenant.root, tenant.headers)
    try:
        patients = plain.search_all(f"/fhir/{tenant.name}/Patient", _count=100, **tenant.scope)
        if tenant.scope:  # a name-only vendor: the awkward patients are looked up by their own names
            for case, _ in clinic.awkward:
                truth = clinic.awkward_patient(case)
                if not truth.deleted:
                    patients += plain.search_all(f"/fhir/{tenant.name}/Patient", family=truth.last_name)
    finally:
        plain.close()
    return {str(_truth_of(p, truth_index).uuid): p for p in patients}


def _fhir_id(directory: Mapping[str, dict[str, Any]], truth: Patient) -> str:
    resource = directory.get(str(truth.uuid))
    assert resource is not None, f"clinic patient {truth.uuid} was not found by searching Patient"
    return str(resource["id"])


def _plain(resource: Any) -> dict[str, Any]:
    """A fhirpy resource as plain FHIR JSON (its references turned back into dicts)."""
    plain: dict[str, Any] = resource.serialize()
    return plain


def _local_day(value: str, zone: str) -> str:
    """The clinic's calendar day of a FHIR date or dateTime (a dateTime may be in any offset)."""
    if len(value) <= 10:
        return value
    return datetime.fromisoformat(value).astimezone(ZoneInfo(zone)).date().isoformat()


def _clinic_uuids(resources: list[Mapping[str, Any]], index: Mapping[str, Patient]) -> list[str]:
    return [str(_truth_of(r, index).uuid) for r in resources]


def _no_duplicates(ids: list[str]) -> None:
    assert not [i for i, n in Counter(ids).items() if n > 1], "search returned a resource more than once"


def _next_link(links: list[Mapping[str, Any]] | None) -> str | None:
    return next((link["url"] for link in links or [] if link["relation"] == "next"), None)


def _on_host(base: str, host: str) -> str:
    parts = urlsplit(base)
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# -- fhirpy -------------------------------------------------------------------------------------------


@pytest.fixture
def fhirpy(tenant: Tenant) -> SyncFHIRClient:
    return SyncFHIRClient(tenant.base, requests_config=REQUESTS, authorization=tenant.authorization)


def test_fhirpy_reads_a_patient_found_by_search(
    fhirpy: SyncFHIRClient, tenant: Tenant, truth_index: dict[str, Patient]
) -> None:
    found = fhirpy.resources("Patient").search(**tenant.scope).limit(3).fetch()
    assert len(found) == 3
    first = fhirpy.resources("Patient").search(**tenant.scope).first()
    assert first is not None and first.id == found[0].id
    for searched in found:
        read = fhirpy.reference("Patient", searched.id).to_resource()
        assert read.resourceType == "Patient" and _plain(read) == _plain(searched)
        assert fhirpy.get("Patient", searched.id) == _plain(read)
        assert _plain(fhirpy.resources("Patient").search(_id=searched.id).get()) == _plain(searched)
        assert not _truth_of(_plain(read), truth_index).deleted


@pytest.mark.parametrize(
    "case", ["unicode_name", "accented_name", "cjk_name", "markup_name", "apostrophe_hyphen", "missing_birth_date"]
)
def test_fhirpy_reads_awkward_patients_intact(
    fhirpy: SyncFHIRClient, clinic: Clinic, directory: dict[str, dict[str, Any]], case: str
) -> None:
    truth = clinic.awkward_patient(case)
    patient = _plain(fhirpy.reference("Patient", _fhir_id(directory, truth)).to_resource())
    assert patient == directory[str(truth.uuid)]
    families = {n.get("family") for n in patient["name"]}
    assert truth.last_name in families
    assert patient.get("birthDate") == (truth.birth_date.isoformat() if truth.birth_date else None)


FHIRPY_SEARCHES = [
    pytest.param({"family": FAMILY}, 4, lambda p: fold(p.last_name).startswith(FAMILY), id="family"),
    pytest.param(
        {"birthdate__ge": "1980"},
        25,
        lambda p: p.birth_date is not None and p.birth_date >= date(1980, 1, 1),
        id="birthdate-ge1980",
    ),
]


@pytest.mark.parametrize(("query", "page_size", "keep"), FHIRPY_SEARCHES)
def test_fhirpy_fetch_all_follows_every_page(
    fhirpy: SyncFHIRClient,
    tenant: Tenant,
    clinic: Clinic,
    truth_index: dict[str, Patient],
    query: dict[str, str],
    page_size: int,
    keep: Callable[[Patient], bool],
) -> None:
    named = bool({"family", "given", "name"} & set(query))  # a name already narrows enough for any vendor
    scope = {} if named else tenant.scope
    expected = uuids(live_patients(clinic, lambda p: keep(p) and (named or tenant.in_scope(p))))
    page_size = min(page_size, max(1, (len(expected) - 1) // 2))
    assert len(expected) > 2 * page_size, "the query should span several pages"
    search = fhirpy.resources("Patient").search(**{**scope, **query}).limit(page_size)
    first_page = search.fetch()
    assert len(first_page) == page_size
    everything = search.fetch_all()
    ids = _clinic_uuids([_plain(r) for r in everything], truth_index)
    _no_duplicates(ids)
    assert set(ids) == expected
    assert [r.id for r in everything[:page_size]] == [r.id for r in first_page]


def test_fhirpy_async_client_pages_every_patient(
    tenant: Tenant, clinic: Clinic, truth_index: dict[str, Patient]
) -> None:
    async def fetch_all() -> list[Mapping[str, Any]]:
        client = AsyncFHIRClient(tenant.base, authorization=tenant.authorization)
        return [_plain(r) for r in await client.resources("Patient").search(**tenant.scope).limit(60).fetch_all()]

    ids = _clinic_uuids(asyncio.run(fetch_all()), truth_index)
    _no_duplicates(ids)
    assert set(ids) == uuids(live_patients(clinic, tenant.in_scope))


def test_fhirpy_pages_observations_of_a_patient(
    fhirpy: SyncFHIRClient,
    tenant: Tenant,
    clinic: Clinic,
    directory: dict[str, dict[str, Any]],
) -> None:
    param = tenant.patient_param("Observation")
    truth = clinic.awkward_patient("many_vitals")
    patient_id = _fhir_id(directory, truth)
    page_size = 20
    search = fhirpy.resources("Observation").search(**{param: patient_id}).limit(page_size)
    observations = [_plain(o) for o in search.fetch_all()]
    assert len(observations) > 3 * page_size, "the patient's vital signs should span several pages"
    ids = [o["id"] for o in observations]
    _no_duplicates(ids)
    plain = FhirHttp(tenant.root, tenant.headers)
    try:
        reference = plain.search_all(f"/fhir/{tenant.name}/Observation", **{param: patient_id, "_count": 100})
    finally:
        plain.close()
    assert set(ids) == {o["id"] for o in reference}
    assert {o["subject"]["reference"] for o in observations} == {f"Patient/{patient_id}"}
    days = {_local_day(o["effectiveDateTime"], clinic.timezone) for o in observations}
    assert days == {v.taken_on.isoformat() for v in truth.vitals if not v.deleted}
    # The subject reference resolves through the client to the patient.
    subject = search.first()
    assert subject is not None
    assert _plain(subject["subject"].to_resource()) == directory[str(truth.uuid)]


# -- SMART fhirclient ----------------------------------------------------------------------------------


def smart_client_for(tenant: Tenant, base: str) -> smart_client.FHIRClient:
    """fhirclient on `base`; behind SMART it authorizes itself as a backend service: it finds the
    token endpoint in the CapabilityStatement and sends our signed assertion there."""
    settings: dict[str, Any] = {"app_id": "fhir-gateway-tests", "api_base": base}
    if tenant.protected is not None:
        settings |= {"jwt_token": tenant.protected.client.assertion(tenant.protected.token_url()), "scope": SCOPE}
    smart = smart_client.FHIRClient(settings=settings)
    if tenant.protected is not None:
        assert not smart.prepare(), "a protected server: no calls before a token"
        smart.server.authorize()
    return smart


@pytest.fixture
def smart(tenant: Tenant) -> Iterator[smart_client.FHIRClient]:
    smart = smart_client_for(tenant, tenant.base)
    yield smart
    smart.server.session.close()


def test_fhirclient_reads_the_capability_statement(smart: smart_client.FHIRClient, tenant: Tenant) -> None:
    assert smart.prepare(), "the client should be ready (an open server, or authorized)"
    statement = smart.server.capabilityStatement
    assert statement.fhirVersion == "4.0.1"
    assert {r.type for r in statement.rest[0].resource} == set(tenant.search_params)


def test_fhirclient_pages_patients_to_the_end(
    smart: smart_client.FHIRClient, tenant: Tenant, clinic: Clinic, truth_index: dict[str, Patient]
) -> None:
    live = uuids(live_patients(clinic, tenant.in_scope))
    page_size = 40 if not tenant.scope else max(2, len(live) // 3)
    struct = {**tenant.scope, "_count": str(page_size)}
    bundles: list[Bundle] = list(SmartPatient.where(struct=struct).perform_iter(smart.server))
    assert len(bundles) == math.ceil(len(live) / page_size)
    assert all(len(b.entry or []) == page_size for b in bundles[:-1])
    assert bundles[0].total in (None, len(live))
    patients = [e.resource for b in bundles for e in b.entry or []]
    assert all(isinstance(p, SmartPatient) for p in patients)
    ids = _clinic_uuids([p.as_json() for p in patients], truth_index)
    _no_duplicates(ids)
    assert set(ids) == live


def test_fhirclient_resources_iter_follows_pages(
    smart: smart_client.FHIRClient, tenant: Tenant, clinic: Clinic, truth_index: dict[str, Patient]
) -> None:
    by_gender = "gender" in tenant.search_params["Patient"]
    expected = uuids(live_patients(clinic, lambda p: (p.gender == "female" or not by_gender) and tenant.in_scope(p)))
    page_size = 15 if not tenant.scope else max(1, (len(expected) - 1) // 2)
    struct = {**tenant.scope, **({"gender": "female"} if by_gender else {}), "_count": str(page_size)}
    search = SmartPatient.where(struct=struct)
    patients = list(search.perform_resources_iter(smart.server))
    assert len(expected) > 2 * page_size
    ids = _clinic_uuids([p.as_json() for p in patients], truth_index)
    _no_duplicates(ids)
    assert set(ids) == expected


def test_fhirclient_reads_patients_into_strict_models(
    smart: smart_client.FHIRClient, clinic: Clinic, directory: dict[str, dict[str, Any]]
) -> None:
    with pytest.raises(FHIRValidationError):  # the premise: an invented element is rejected
        SmartPatient({"resourceType": "Patient", "id": "x", "favouriteColour": "blue"})
    for case, _ in clinic.awkward:
        truth = clinic.awkward_patient(case)
        if truth.deleted:
            continue
        patient = SmartPatient.read(_fhir_id(directory, truth), smart.server)
        assert patient.as_json() == directory[str(truth.uuid)], case


@pytest.mark.parametrize("resource_type", sorted(SMART_MODELS))
def test_fhirclient_reads_records_into_strict_models(
    smart: smart_client.FHIRClient,
    tenant: Tenant,
    clinic: Clinic,
    directory: dict[str, dict[str, Any]],
    resource_type: str,
) -> None:
    """Searches (whose Bundles the client parses strictly, entries included) and reads records."""
    param = tenant.patient_param(resource_type)
    model = SMART_MODELS[resource_type]
    awkward = [clinic.awkward_patient(case) for case in RECORD_CASES]
    awkward_uuids = {p.uuid for p in awkward}
    sample = [p for p in clinic.patients[::SAMPLE_EVERY] if not p.deleted and p.uuid not in awkward_uuids]
    seen = 0
    for truth in awkward + sample:
        patient_id = _fhir_id(directory, truth)
        search = model.where(struct={param: patient_id, "_count": "100"})
        found = list(search.perform_resources_iter(smart.server))
        # A vendor reading that leaves a patient's list out of its answer: said in an outcome entry.
        records = [r for r in found if not isinstance(r, OperationOutcome)]
        assert len(records) == len(found) or playing_other_readings(), truth.uuid
        assert all(isinstance(r, model) for r in records), truth.uuid
        seen += len(records)
        if truth.uuid in awkward_uuids:
            for record in records[:READS_PER_PATIENT]:
                assert model.read(record.id, smart.server).as_json() == record.as_json(), record.id
    assert seen > 0, f"no {resource_type} for any of the patients tried"


# -- next links ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_next_links_are_absolute_under_the_clients_base(
    tenant: Tenant, clinic: Clinic, truth_index: dict[str, Patient], host: str
) -> None:
    if tenant.protected is not None and host != "127.0.0.1":
        pytest.skip("behind SMART the deployment sets public_base_url: links are under it, whatever the Host")
    base = _on_host(tenant.base, host)
    fhirpy = SyncFHIRClient(base, requests_config=REQUESTS, authorization=tenant.authorization)
    following = _next_link(fhirpy.resources("Patient").search(**tenant.scope).limit(5).fetch_raw().get("link"))
    assert following is not None
    parts = urlsplit(following)
    assert parts.scheme in ("http", "https") and parts.netloc, following
    assert following.startswith(base + "/"), f"{following} is not under the client's base {base}"
    # and fhirpy follows them to the end from this base
    everything = fhirpy.resources("Patient").search(**tenant.scope).limit(80).fetch_all()
    ids = _clinic_uuids([_plain(r) for r in everything], truth_index)
    assert len(ids) == len(set(ids)) and set(ids) == uuids(live_patients(clinic, tenant.in_scope))

    smart = smart_client_for(tenant, base)
    try:
        first = next(SmartPatient.where(struct={**tenant.scope, "_count": "5"}).perform_iter(smart.server))
        smart_next = _next_link([link.as_json() for link in first.link or []])
    finally:
        smart.server.session.close()
    assert smart_next is not None and smart_next.startswith(base + "/"), smart_next
