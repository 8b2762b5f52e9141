"""The vendor response cache: fewer vendor calls, never an answer across scopes or around the
gateway's own writes, and stale answers (marked) while the vendor is down."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from gateway.app import create_app
from gateway.cache import CachePolicy, LocalCacheStore, ResponseCache, stale_resource
from gateway.contract import Resource
from gateway.errors import UpstreamError
from gateway.sandbox_host import serve_in_thread
from gateway.settings import CacheSettings, PagingSettings, ServerSettings, Settings, TenantSettings
from gateway.tenants import RESOURCE
from tests.support.fake_vendor import (
    BASE,
    CREATE,
    DELETE,
    FAKE,
    FAKE_URL,
    READ,
    SEARCH,
    TENANT,
    FakeBackend,
    TestClient,
    bundle_warnings,
    fake_gateway,
    ids,
    ok,
    outcome,
)
from tests.support.smart import Issuer, smart_settings

TTL = 0.3
JSON = {"Content-Type": "application/fhir+json"}


def settings(cache: CacheSettings) -> Settings:
    tenant = TenantSettings(vendor=FAKE, base_url=FAKE_URL, cache=cache)
    return Settings(server=ServerSettings(), paging=PagingSettings(), tenants={TENANT: tenant})


@pytest.fixture
def backend() -> FakeBackend:
    backend = FakeBackend()
    backend.add_patient("p1", family="Okafor")
    backend.add_patient("p2", family="Nguyen")
    backend.add_observation("p1", "o1")
    return backend


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    with fake_gateway(backend, settings(CacheSettings(enabled=True, ttl=TTL, stale_for=60))) as client:
        yield client


def test_the_cache_is_off_unless_enabled(backend: FakeBackend) -> None:
    with fake_gateway(backend, settings(CacheSettings())) as client:
        ok(client.get(f"{BASE}/Patient/p1"))
        ok(client.get(f"{BASE}/Patient/p1"))
    assert backend.calls_to("Patient", READ) == 2


def test_repeated_reads_and_searches_cost_one_vendor_call(client: TestClient, backend: FakeBackend) -> None:
    for _ in range(3):
        assert ok(client.get(f"{BASE}/Patient/p1"))["id"] == "p1"
        assert ids(ok(client.get(f"{BASE}/Patient?family=Okafor"))) == ["p1"]
    assert backend.calls_to("Patient", READ) == 1 and backend.calls_to("Patient", SEARCH) == 1
    time.sleep(TTL + 0.05)
    ok(client.get(f"{BASE}/Patient/p1"))
    assert backend.calls_to("Patient", READ) == 2  # no longer fresh: asked again


def test_the_gateways_own_writes_are_never_read_around(client: TestClient, backend: FakeBackend) -> None:
    before = ok(client.get(f"{BASE}/Patient/p1"))
    assert ids(ok(client.get(f"{BASE}/Patient?family=Okafor"))) == ["p1"]
    ok(client.put(f"{BASE}/Patient/p1", json={**before, "name": [{"family": "Adeyemi"}]}, headers=JSON))
    assert ok(client.get(f"{BASE}/Patient/p1"))["name"][0]["family"] == "Adeyemi"
    assert ids(ok(client.get(f"{BASE}/Patient?family=Okafor"))) == []
    client.delete(f"{BASE}/Patient/p1")
    assert client.get(f"{BASE}/Patient/p1").status_code == 410


def test_while_the_vendor_is_down_fresh_enough_answers_are_served_marked_stale(
    client: TestClient, backend: FakeBackend
) -> None:
    ok(client.get(f"{BASE}/Patient/p1"))
    ok(client.get(f"{BASE}/Patient?family=Okafor"))
    backend.fail("Patient", READ)
    backend.fail("Patient", SEARCH)
    time.sleep(TTL + 0.05)
    response = client.get(f"{BASE}/Patient/p1")
    assert response.status_code == 200 and "Stale" in response.headers["warning"]
    assert response.json()["meta"]["tag"][-1]["code"] == "stale"
    page = ok(client.get(f"{BASE}/Patient?family=Okafor"))
    assert ids(page) == ["p1"] and "total" not in page
    assert any("cache" in w for w in bundle_warnings(page))
    outcome(client.get(f"{BASE}/Patient/p2"), 502)  # never cached: the vendor's failure shows


def test_a_cached_answer_never_crosses_scopes_or_patients(
    backend: FakeBackend, tmp_path_factory: pytest.TempPathFactory
) -> None:
    issuer = Issuer.in_dir(tmp_path_factory.mktemp("issuer"))
    tenant = TenantSettings(vendor=FAKE, base_url=FAKE_URL, cache=CacheSettings(enabled=True, ttl=60))
    with fake_gateway(backend, smart_settings(issuer, {TENANT: tenant})) as client:
        p1 = issuer.headers(TENANT, "patient/*.rs", patient="p1")
        p2 = issuer.headers(TENANT, "patient/*.rs", patient="p2")
        assert ok(client.get(f"{BASE}/Observation/o1", headers=p1))["id"] == "o1"  # now cached
        outcome(client.get(f"{BASE}/Observation/o1", headers=p2), 404)
        assert ids(ok(client.get(f"{BASE}/Observation?patient=p1", headers=p1))) == ["o1"]
        assert ids(ok(client.get(f"{BASE}/Observation?patient=p1", headers=p2))) == []
        outcome(client.get(f"{BASE}/Patient/p1", headers=issuer.headers(TENANT, "user/Observation.rs")), 403)


def test_identical_concurrent_fetches_share_one_vendor_call() -> None:
    cache = ResponseCache(CachePolicy(ttl=60))
    loads = 0

    async def load() -> dict[str, str]:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return {"resourceType": "Patient", "id": "p1"}

    async def scenario() -> list[dict[str, str]]:
        return list(
            await asyncio.gather(
                *(cache.fetch("Patient", "read:p1", load, RESOURCE, stale_resource) for _ in range(10))
            )
        )

    answers = asyncio.run(scenario())
    assert loads == 1 and all(a["id"] == "p1" for a in answers)
    answers[0]["id"] = "changed"  # callers get copies: one cannot change what another reads
    assert answers[1]["id"] == "p1"


def test_past_its_stale_period_an_entry_no_longer_answers() -> None:
    now = [0.0]
    cache = ResponseCache(CachePolicy(ttl=1, stale_for=10), LocalCacheStore(10, clock=lambda: now[0]))

    async def good() -> dict[str, str]:
        return {"id": "p1"}

    async def down() -> dict[str, str]:
        raise UpstreamError("down")

    async def scenario() -> None:
        await cache.fetch("Patient", "read:p1", good, RESOURCE, stale_resource)
        now[0] = 5
        assert (await cache.fetch("Patient", "read:p1", down, RESOURCE, stale_resource))["meta"]["tag"]  # type: ignore[index]
        now[0] = 12
        with pytest.raises(UpstreamError):
            await cache.fetch("Patient", "read:p1", down, RESOURCE, stale_resource)

    asyncio.run(scenario())


def test_answers_with_phi_are_no_store_unless_the_tenant_allows_private_caching(backend: FakeBackend) -> None:
    with fake_gateway(backend, settings(CacheSettings())) as client:
        assert client.get(f"{BASE}/Patient/p1").headers["cache-control"] == "no-store"
        assert client.get(f"{BASE}/Patient?family=Okafor").headers["cache-control"] == "no-store"
        assert client.get(f"{BASE}/Patient/p9").headers["cache-control"] == "no-store"
        assert "no-store" not in client.get(f"{BASE}/metadata").headers.get("cache-control", "")
    private = TenantSettings(vendor=FAKE, base_url=FAKE_URL, client_caching="private")
    opted = Settings(server=ServerSettings(), paging=PagingSettings(), tenants={TENANT: private})
    with fake_gateway(backend, opted) as client:
        assert client.get(f"{BASE}/Patient/p1").headers["cache-control"] == "private, no-cache"


def test_a_conditional_delete_is_checked_against_the_vendor_not_the_cache(
    client: TestClient, backend: FakeBackend
) -> None:
    ok(client.get(f"{BASE}/Patient/p1"))  # version 1, now cached
    backend.patients["p1"]["meta"]["versionId"] = "2"  # changed in the vendor's own system
    assert outcome(client.delete(f"{BASE}/Patient/p1", headers={"If-Match": 'W/"1"'}), 412)
    assert backend.calls_to("Patient", DELETE) == 0
    assert client.delete(f"{BASE}/Patient/p1", headers={"If-Match": 'W/"2"'}).status_code == 204


def test_a_conditional_create_is_checked_against_the_vendor_not_the_cache(
    client: TestClient, backend: FakeBackend
) -> None:
    """If-None-Exist decides whether a record is created (FHIR R4 http.html#ccreate): a search
    page cached before the record appeared in the vendor's own system must not make a duplicate."""
    assert ids(ok(client.get(f"{BASE}/Patient?identifier=urn:fake:mrn|MRN-7"))) == []  # now cached
    backend.add_patient("p7", family="Adeyemi", identifier="MRN-7")  # created in the vendor's own system
    new = {"resourceType": "Patient", "name": [{"family": "Adeyemi"}], "identifier": [
        {"system": "urn:fake:mrn", "value": "MRN-7"}]}  # fmt: skip
    answer = client.post(
        f"{BASE}/Patient", json=new, headers={**JSON, "If-None-Exist": "identifier=urn:fake:mrn|MRN-7"}
    )
    assert ok(answer)["id"] == "p7"  # 200: the existing record, nothing created
    assert backend.calls_to("Patient", CREATE) == 0 and len(backend.patients) == 3


class _SlowBackend(FakeBackend):
    """Reads of p1 take a while; reads of p2 fail sooner, as a vendor 5xx."""

    async def read_patient(self, resource_id: str) -> Resource:
        if resource_id == "p2":
            await asyncio.sleep(0.25)  # after B has joined A's read of p1
            raise UpstreamError("The vendor system failed (HTTP 503)")
        await asyncio.sleep(0.4)
        return await super().read_patient(resource_id)


@pytest.mark.slow
def test_a_request_given_up_midway_does_not_fail_anothers_identical_read() -> None:
    """Request A searches `_id=p1,p2`: its read of p2 fails, so its read of p1, which request B
    joined, is cancelled (its sibling failed). B asked for p1 alone and must get it, not a 500."""
    backend = _SlowBackend()
    backend.add_patient("p1", family="Okafor")
    backend.add_patient("p2", family="Nguyen")
    app = create_app(settings(CacheSettings(enabled=True, ttl=60)), [backend.vendor()], access_logging=False)
    running = serve_in_thread(app, date_header=False)

    async def scenario() -> tuple[httpx.Response, httpx.Response]:
        async with httpx.AsyncClient(base_url=running.url, timeout=10) as client:
            first = asyncio.ensure_future(client.get(f"{BASE}/Patient", params={"_id": "p1,p2"}))
            await asyncio.sleep(0.15)  # A's read of p1 is out
            second = await client.get(f"{BASE}/Patient/p1")
            return await first, second

    try:
        searched, read = asyncio.run(scenario())
    finally:
        running.stop()
    outcome(searched, 502)
    assert ok(read)["id"] == "p1"
