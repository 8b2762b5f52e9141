"""An in-memory vendor for unit tests of the REST layer, search execution, paging and records.

`FakeBackend` holds the FHIR a test seeds (plain dicts) and serves it through ordinary
`ResourceProvider`s, exactly as a vendor adapter would, with no sockets and no sleeps:

- Patient: read, search (each parameter's pushdown and the vendor page size configurable),
  create, update (versioned: If-Match), delete;
- Observation: read and search, per patient (`per_patient=True`), filtered by the gateway
  beyond the patient.

Every handler call is counted (`backend.calls_to("Patient", "search")`: how many vendor pages a
search pulled) and can be made to fail with a gateway error (`backend.fail(...)`). Time comes
from a `FakeClock` the test moves on.

`fake_gateway(backend)` builds the whole gateway around it (`create_app` with a tenant of
vendor "fake") inside Starlette's TestClient, lifespan included.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from gateway.app import create_app
from gateway.contract import (
    ALL_PREFIXES,
    STRING_MODIFIERS,
    Adapter,
    AdapterConfig,
    NoOptions,
    Pushdown,
    Resource,
    ResourceDeclaration,
    ResourceProvider,
    SearchParamSupport,
    SearchRequest,
    Vendor,
    VendorPage,
    Written,
    by_type,
)
from gateway.errors import AlreadyExists, Gone, NotFound, PreconditionFailed, UpstreamError
from gateway.search import planning
from gateway.search.match import matches, normalize
from gateway.settings import PagingSettings, ServerSettings, Settings, TenantSettings

with warnings.catch_warnings():
    # Starlette 1.x would rather drive its TestClient with httpx2; httpx (a gateway dependency)
    # still works, and the warning would only repeat itself in every test run's summary.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient as TestClient  # re-exported: import it from here

FAKE = "fake"
TENANT = "clinic"
BASE = f"/fhir/{TENANT}"
FAKE_URL = "http://fake.invalid"

READ, SEARCH, CREATE, UPDATE, DELETE = "read", "search", "create", "update", "delete"

# What the fake Patient API can narrow by, unless a test says otherwise.
DEFAULT_PATIENT_PARAMS: Mapping[str, Pushdown] = {
    "family": Pushdown.EXACT,
    "given": Pushdown.NARROWS,
    "gender": Pushdown.EXACT,
    "birthdate": Pushdown.GATEWAY,
    "identifier": Pushdown.EXACT,
    "active": Pushdown.GATEWAY,
}
PATIENT_SORTS = ("family",)
# Top-level Patient elements the fake vendor stores; others are reported as not stored.
PATIENT_ELEMENTS = frozenset(
    {"resourceType", "id", "meta", "identifier", "active", "name", "telecom", "gender", "birthDate"}
)
LOINC = "http://loinc.org"
HEART_RATE = "8867-4"


# Not tests.support.clock.SetClock: it says datetimes and also keeps monotonic seconds for timers.
class FakeClock:
    """A clock that moves only when told: `clock()` is the time, `clock.monotonic()` is seconds
    for timers (e.g. a cachetools TTLCache), `clock.advance(s)` moves both on."""

    def __init__(self, start: datetime = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)) -> None:
        self._start = start
        self._now = start

    def __call__(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return (self._now - self._start).total_seconds()

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)


@dataclass(frozen=True)
class _Failure:
    error: Exception
    after: int  # calls that still succeed before this one fails


def _instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class FakeBackend:
    """The fake vendor's data and behaviour for one test.

    `patient_params`: Patient search parameters the vendor declares, with who evaluates each
    (EXACT and NARROWS ones are applied by the fake, GATEWAY ones are not looked at).
    `page_size` / `observation_page_size`: the most records one vendor page holds.
    """

    patient_params: Mapping[str, Pushdown] = field(default_factory=lambda: dict(DEFAULT_PATIENT_PARAMS))
    page_size: int = 10
    observation_page_size: int = 10
    refuse_duplicates: bool = False  # a create sharing an identifier with a patient raises AlreadyExists
    search_warnings: tuple[str, ...] = ()  # what every Patient search page says the vendor could not find
    unindexed: set[str] = field(default_factory=set)  # patients the vendor's search does not find (yet)
    clock: FakeClock = field(default_factory=FakeClock)
    patients: dict[str, Resource] = field(default_factory=dict)
    observations: dict[str, Resource] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    failures: dict[tuple[str, str], _Failure] = field(default_factory=dict)
    _next_id: int = field(default=1000, repr=False)

    # -- seeding ------------------------------------------------------------------------------

    def add_patient(
        self,
        patient_id: str | None = None,
        *,
        family: str = "Doe",
        given: Sequence[str] = ("Jan",),
        gender: str = "unknown",
        birth_date: str | None = None,
        identifier: str | None = None,
        active: bool | None = None,
        **elements: Any,
    ) -> Resource:
        """Store a Patient (version 1, last updated now) and return a copy of it."""
        pid = patient_id or self._new_id()
        patient: Resource = {
            "resourceType": "Patient",
            "id": pid,
            "meta": {"versionId": "1", "lastUpdated": _instant(self.clock())},
            "name": [{"use": "official", "family": family, "given": list(given)}],
            "gender": gender,
        }
        if identifier is not None:
            patient["identifier"] = [{"system": "urn:fake:mrn", "value": identifier}]
        if birth_date is not None:
            patient["birthDate"] = birth_date
        if active is not None:
            patient["active"] = active
        patient.update(elements)
        self.patients[pid] = patient
        return copy.deepcopy(patient)

    def add_patients(self, count: int, *, family: str = "Doe", **kwargs: Any) -> list[Resource]:
        """`count` patients named family, with ids p001, p002, … after those already there."""
        start = len(self.patients)
        return [self.add_patient(f"p{start + n + 1:03d}", family=family, **kwargs) for n in range(count)]

    def add_observation(
        self,
        patient_id: str,
        observation_id: str | None = None,
        *,
        code: str = HEART_RATE,
        when: str = "2024-01-15T10:00:00Z",
        value: float = 72,
        status: str = "final",
    ) -> Resource:
        oid = observation_id or self._new_id()
        observation: Resource = {
            "resourceType": "Observation",
            "id": oid,
            "status": status,
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "subject": {"reference": f"Patient/{patient_id}"},
            "effectiveDateTime": when,
            "valueQuantity": {"value": value, "unit": "1", "system": "http://unitsofmeasure.org", "code": "1"},
        }
        self.observations[oid] = observation
        return copy.deepcopy(observation)

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    # -- hooks ----------------------------------------------------------------------------------

    def fail(self, resource_type: str, interaction: str, error: Exception | None = None, *, after: int = 0) -> None:
        """Make calls of `interaction` on `resource_type` raise `error` (a vendor failure, 502, by
        default), once `after` more calls have succeeded."""
        failure = error if error is not None else UpstreamError("The vendor system failed (HTTP 503)")
        self.failures[(resource_type, interaction)] = _Failure(failure, after)

    def heal(self) -> None:
        self.failures.clear()

    def calls_to(self, resource_type: str, interaction: str | None = None) -> int:
        """Vendor calls so far to the type's `interaction` (all of the type's, given none)."""
        return sum(n for (t, i), n in self.calls.items() if t == resource_type and interaction in (None, i))

    def reset_calls(self) -> None:
        self.calls.clear()

    def _call(self, resource_type: str, interaction: str) -> None:
        self.calls[(resource_type, interaction)] += 1
        failure = self.failures.get((resource_type, interaction))
        if failure is None:
            return
        if failure.after > 0:
            self.failures[(resource_type, interaction)] = _Failure(failure.error, failure.after - 1)
            return
        raise failure.error

    # -- the vendor -----------------------------------------------------------------------------

    def vendor(self) -> Vendor[NoOptions]:
        """A vendor named "fake" whose every tenant is served from this backend."""

        def create_adapter(config: AdapterConfig[NoOptions]) -> Adapter:
            assert config.base_url == FAKE_URL and not config.secrets
            return FakeAdapter(self)

        return Vendor(FAKE, NoOptions, (), create_adapter)

    def declarations(self) -> tuple[ResourceDeclaration, ResourceDeclaration]:
        patient = ResourceDeclaration(
            "Patient",
            tuple(
                SearchParamSupport(
                    name,
                    pushdown,
                    modifiers=STRING_MODIFIERS if name in ("family", "given") else frozenset(),
                    prefixes=ALL_PREFIXES if name == "birthdate" else frozenset(),
                )
                for name, pushdown in self.patient_params.items()
            ),
            sorts=PATIENT_SORTS,
            last_updated=True,
            documentation="The fake vendor's patients.",
        )
        observation = ResourceDeclaration(
            "Observation",
            (
                SearchParamSupport("code", Pushdown.GATEWAY),
                SearchParamSupport("date", Pushdown.GATEWAY, prefixes=ALL_PREFIXES),
                SearchParamSupport("status", Pushdown.GATEWAY),
            ),
            per_patient=True,
        )
        return patient, observation

    # Patient ------------------------------------------------------------------------------------

    async def read_patient(self, resource_id: str) -> Resource:
        self._call("Patient", READ)
        return self._stored("Patient", self.patients, resource_id)

    async def search_patients(self, request: SearchRequest) -> VendorPage:
        self._call("Patient", SEARCH)
        assert request.page_size <= self.page_size, "the gateway asked for more than max_page_size"
        assert "_id" not in request.query.names(), "_id must be answered with reads"
        query = request.query
        pushed = tuple(p for p in query.params if self.patient_params.get(p.name) in (Pushdown.EXACT, Pushdown.NARROWS))
        narrowed = dataclasses.replace(query, params=pushed, sort=())
        hits = [p for p in self.patients.values() if p["id"] not in self.unindexed and matches(p, narrowed)]
        for key in reversed(query.sort):
            assert key.name in PATIENT_SORTS
            hits.sort(key=_family, reverse=key.descending)
        exact = all(self.patient_params.get(p.name) is Pushdown.EXACT for p in query.params)
        return _paged(hits, request, total=len(hits) if exact else None, said=self.search_warnings)

    async def create_patient(self, resource: Resource) -> Written:
        self._call("Patient", CREATE)
        assert "id" not in resource, "the gateway must drop the client's id on create"
        if self.refuse_duplicates:
            wanted = {(i.get("system"), i.get("value")) for i in resource.get("identifier", [])}
            for existing in self.patients.values():
                if wanted & {(i.get("system"), i.get("value")) for i in existing.get("identifier", [])}:
                    raise AlreadyExists("A patient with this identifier exists", copy.deepcopy(existing))
        kept, not_stored = _keep(resource)
        kept["id"] = self._new_id()
        kept["meta"] = {"versionId": "1", "lastUpdated": _instant(self.clock())}
        self.patients[kept["id"]] = kept
        return Written(copy.deepcopy(kept), not_stored)

    async def update_patient(self, resource_id: str, resource: Resource, version: str | None) -> Written:
        self._call("Patient", UPDATE)
        current = self._stored("Patient", self.patients, resource_id)
        now = current["meta"]["versionId"]
        if version is not None and version != now:
            raise PreconditionFailed(f"Patient/{resource_id} is at version {now}, not {version}")
        kept, not_stored = _keep(resource)
        kept["meta"] = {"versionId": str(int(now) + 1), "lastUpdated": _instant(self.clock())}
        self.patients[resource_id] = kept
        return Written(copy.deepcopy(kept), not_stored)

    async def delete_patient(self, resource_id: str) -> None:
        self._call("Patient", DELETE)
        self._stored("Patient", self.patients, resource_id)
        del self.patients[resource_id]
        self.deleted.add(("Patient", resource_id))

    # Observation --------------------------------------------------------------------------------

    async def read_observation(self, resource_id: str) -> Resource:
        self._call("Observation", READ)
        return self._stored("Observation", self.observations, resource_id)

    async def search_observations(self, request: SearchRequest) -> VendorPage:
        self._call("Observation", SEARCH)
        assert request.page_size <= self.observation_page_size, "the gateway asked for more than max_page_size"
        patient = planning.single_patient(request.query)
        assert patient, "a per-patient search must name its patient"
        hits = [o for o in self.observations.values() if o["subject"]["reference"] == f"Patient/{patient}"]
        exact = planning.only(request.query, "patient", "subject")
        return _paged(hits, request, total=len(hits) if exact else None)

    def _stored(self, resource_type: str, table: Mapping[str, Resource], resource_id: str) -> Resource:
        if (resource_type, resource_id) in self.deleted:
            raise Gone(f"{resource_type}/{resource_id} was deleted")
        found = table.get(resource_id)
        if found is None:
            raise NotFound(f"{resource_type}/{resource_id} does not exist")
        return copy.deepcopy(found)


def _family(patient: Resource) -> str:
    names = patient.get("name") or [{}]
    return normalize(str(names[0].get("family", "")))


def _keep(resource: Resource) -> tuple[Resource, tuple[str, ...]]:
    kept = {k: copy.deepcopy(v) for k, v in resource.items() if k in PATIENT_ELEMENTS}
    dropped = tuple(f"Patient.{k}" for k in sorted(resource) if k not in PATIENT_ELEMENTS)
    return kept, dropped


def _paged(hits: list[Resource], request: SearchRequest, total: int | None, said: tuple[str, ...] = ()) -> VendorPage:
    """One vendor page: `position` is the offset of its first record."""
    start = int(request.position or 0)
    end = start + request.page_size
    return VendorPage([copy.deepcopy(r) for r in hits[start:end]], end if end < len(hits) else None, total, said)


class FakeAdapter:
    def __init__(self, backend: FakeBackend) -> None:
        self.backend = backend
        self.closed = False
        patient, observation = backend.declarations()
        self._providers = by_type(
            ResourceProvider(
                patient,
                backend.read_patient,
                backend.search_patients,
                create=backend.create_patient,
                update=backend.update_patient,
                delete=backend.delete_patient,
                max_page_size=backend.page_size,
            ),
            ResourceProvider(
                observation,
                backend.read_observation,
                backend.search_observations,
                max_page_size=backend.observation_page_size,
            ),
        )

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        return self._providers

    async def aclose(self) -> None:
        self.closed = True


# -- the gateway around it --------------------------------------------------------------------


def fake_settings(*, tenants: Sequence[str] = (TENANT,), default_count: int = 20, max_count: int = 100) -> Settings:
    return Settings(
        server=ServerSettings(),
        paging=PagingSettings(default_count=default_count, max_count=max_count),
        tenants={name: TenantSettings(vendor=FAKE, base_url=FAKE_URL) for name in tenants},
    )


@contextmanager
def fake_gateway(
    backend: FakeBackend,
    settings: Settings | None = None,
    *,
    raise_server_exceptions: bool = True,
) -> Iterator[TestClient]:
    """The gateway over `backend`, in Starlette's TestClient (its lifespan runs: tenants built)."""
    app = create_app(settings or fake_settings(), [backend.vendor()], access_logging=False)
    with TestClient(app, raise_server_exceptions=raise_server_exceptions) as client:
        yield client


# -- reading answers --------------------------------------------------------------------------


def outcome(response: httpx.Response, status: int) -> dict[str, Any]:
    """The OperationOutcome of an error answer, checked to be one (status, FHIR JSON)."""
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/fhir+json"), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert body["issue"] and all(i["severity"] in ("fatal", "error", "warning", "information") for i in body["issue"])
    return body


def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    """The FHIR JSON body of a successful answer."""
    assert response.status_code == status, f"{response.status_code}: {response.text[:500]}"
    assert response.headers["content-type"].startswith("application/fhir+json"), response.headers["content-type"]
    body: dict[str, Any] = response.json()
    return body


def link(bundle: Mapping[str, Any], relation: str) -> str | None:
    return next((entry["url"] for entry in bundle.get("link", []) if entry["relation"] == relation), None)


def matched(bundle: Mapping[str, Any]) -> list[Resource]:
    """The resources a searchset matched (outcome entries left out)."""
    return [e["resource"] for e in bundle.get("entry", []) if e.get("search", {}).get("mode") == "match"]


def ids(bundle: Mapping[str, Any]) -> list[str]:
    return [str(r["id"]) for r in matched(bundle)]


def bundle_warnings(bundle: Mapping[str, Any]) -> list[str]:
    return [
        issue["diagnostics"]
        for e in bundle.get("entry", [])
        if e.get("search", {}).get("mode") == "outcome"
        for issue in e["resource"]["issue"]
    ]


def follow(client: TestClient, first: httpx.Response, limit: int = 200) -> list[dict[str, Any]]:
    """Every page of a paged answer, from `first`, following `next` links to the end."""
    pages = [ok(first)]
    while (following := link(pages[-1], "next")) is not None:
        assert len(pages) < limit, "paging does not end"
        pages.append(ok(client.get(following)))
    return pages
