"""The Nextvisit adapter feeds its tenant's drift monitor: a field the docs do not have, served
by the sandbox over HTTP, is counted by path under the shape it came in; its value never
reaches a log. Readers still serve the patient whole."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from gateway.contract import AdapterConfig, Drift, DriftKey, SearchRequest, TenantContext
from gateway.sandbox_host import RunningServer, serve_in_thread
from gateway.search.model import SearchQuery
from mappings.nextvisit.adapter import NextvisitAdapter
from mappings.nextvisit.options import NextvisitOptions
from sandboxes.clinic import build_clinic
from sandboxes.nextvisit.app import create_app
from sandboxes.nextvisit.wire import EXTRA_FIELD

EMAIL, PASSWORD = "gw@example.test", "correct horse"
CLINIC = build_clinic()
PATIENT = next(p for p in CLINIC.patients if not p.deleted and p.encounters)


def _serve(**switches: object) -> RunningServer:
    return serve_in_thread(create_app(CLINIC, email=EMAIL, password=PASSWORD, **switches), name="nextvisit-drift")


@pytest.fixture(scope="module")
def documented() -> Iterator[RunningServer]:
    running = _serve()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def drifted() -> Iterator[RunningServer]:
    running = _serve(extra_field=True, paging="paginator")
    yield running
    running.stop()


def _walk(url: str) -> Drift:
    """One list page and one patient read through the adapter; the drift it recorded."""
    drift = Drift("t", "nextvisit")
    secrets = {"email": EMAIL, "password": PASSWORD}
    adapter = NextvisitAdapter(
        AdapterConfig(url, TenantContext("t", "urn:t"), NextvisitOptions(), secrets, drift=drift)
    )

    async def scenario() -> None:
        try:
            search = adapter.providers["Patient"].search
            assert search is not None
            page = await search(SearchRequest(SearchQuery("Patient", (), (), "UTC"), None, 20))
            assert len(page.resources) == 20 and not page.warnings
            assert isinstance(page.next, dict) and page.next["page"] == 2
            read = await adapter.providers["Patient"].read(str(PATIENT.id))
            assert read["name"][0]["family"] == PATIENT.last_name
        finally:
            await adapter.aclose()

    asyncio.run(scenario())
    return drift


def test_the_documented_answers_are_no_drift(documented: RunningServer) -> None:
    assert _walk(documented.url).counts() == {}


def test_an_undocumented_field_is_counted_by_path_and_its_value_never_logged(
    drifted: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        counts = _walk(drifted.url).counts()
    field, value = EXTRA_FIELD
    # 20 listed patients and the one read; the bare paginator's fields are read, not drift.
    assert counts == {DriftKey("patient", "unexpected field", field): 21}
    assert any(field in r.getMessage() for r in caplog.records if r.name == "fhir_gateway.drift")
    assert not any(value in r.getMessage() for r in caplog.records)
