"""An HTTP client for tests that checks every FHIR resource it receives against the standards.

Every JSON body with a resourceType that a test gets from the gateway goes through
`conformance.check_resource` (R4 JSON schema, fhir.resources, US Core profiles), so no test
can receive a non-conformant resource without failing. Without the standards data the checks
are off with a warning (a failure under CI=true); the conformance tests themselves skip and say why.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from conformance import check_resource, conformance_data_dir
from conformance.data import ENV_VAR
from gateway.documents.generate import CCD_INPUTS


def _checks_enabled() -> bool:
    """Whether the standards data is there; without it, a failure under CI=true, else a warning
    in the run's summary (a worktree outside the checkout has no ../shared beside it): a test
    passing unchecked must say so."""
    data = conformance_data_dir()
    if data.is_dir():
        return True
    reason = f"standards data not found at {data} (set {ENV_VAR}): FHIR answers are not checked against the standards"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    warnings.warn(reason, stacklevel=2)
    return False


class FhirHttp:
    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = httpx.Client(base_url=self.base_url, timeout=60, headers=headers)
        self.checks = _checks_enabled()
        self.checked = 0

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self.http.request(method, path, **kwargs)
        if self.checks and "json" in response.headers.get("content-type", ""):
            body = response.json()
            if isinstance(body, dict) and "resourceType" in body:
                problems = check_resource(body)
                assert not problems, f"{method} {path} returned a non-conformant resource:\n" + "\n".join(problems)
                self.checked += 1
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def get_ok(self, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.get(path, **kwargs)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text[:500]}"
        body: dict[str, Any] = response.json()
        return body

    def search_all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every resource of a search, following `next` links to the end."""
        return [
            entry["resource"]
            for bundle in self.pages(path, **params)
            for entry in bundle.get("entry", [])
            if entry.get("search", {}).get("mode", "match") == "match"
        ]

    def pages(self, path: str, **params: Any) -> Iterator[dict[str, Any]]:
        bundle = self.get_ok(path, params=params)
        yield bundle
        seen = 1
        while True:
            following = next((link["url"] for link in bundle.get("link", []) if link["relation"] == "next"), None)
            if following is None:
                return
            assert following.startswith(self.base_url), following
            bundle = self.get_ok(following)
            seen += 1
            assert seen < 500, "paging does not end"
            yield bundle

    def close(self) -> None:
        self.http.close()


def outcome_of(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    assert response.headers["content-type"].startswith("application/fhir+json")
    return body


def record_is_complete(fhir: FhirHttp, tenant: str, patient_id: str, **period: str) -> bool:
    """Whether the tenant can give whole what a CCD of the patient is made from: the patient's
    `$everything` over those types carries no OperationOutcome entry. A vendor reading that
    refuses far-future searches, or whose answer leaves a patient's list out (unknown, not
    empty), cannot, and then every CCD of the patient is refused (all or nothing)."""
    types = _document_types(fhir, tenant)
    if not types:
        return True
    params = [("_type", ",".join(types)), ("_count", "1")]
    params += [(name, period[name]) for name in ("start", "end") if period.get(name)]
    bundle = fhir.get_ok(f"/fhir/{tenant}/Patient/{patient_id}/$everything", params=params)
    complete = not any(e.get("search", {}).get("mode") == "outcome" for e in bundle.get("entry", []))
    # The documented simulators hold every record within reach: incomplete there is a bug.
    assert complete or playing_other_readings(), f"{tenant}: the record of {patient_id} came back incomplete"
    return complete


_DOCUMENT_TYPES: dict[tuple[str, str], list[str]] = {}


def _document_types(fhir: FhirHttp, tenant: str) -> list[str]:
    """The types a CCD is made from that the tenant can give per patient (its CapabilityStatement)."""
    key = (fhir.base_url, tenant)
    if key not in _DOCUMENT_TYPES:
        (rest,) = fhir.get_ok(f"/fhir/{tenant}/metadata")["rest"]
        _DOCUMENT_TYPES[key] = sorted(
            r["type"]
            for r in rest["resource"]
            if r["type"] in CCD_INPUTS and any(p["name"] == "patient" for p in r.get("searchParam", []))
        )
    return _DOCUMENT_TYPES[key]


def playing_other_readings() -> bool:
    """Whether the demo's simulators play readings other than the documented ones (.ci/variants)."""
    return bool(os.environ.get("FHIR_GATEWAY_SANDBOX_READINGS"))


def assert_refused_as_incomplete(response: httpx.Response) -> None:
    """The answer to a document request for a record the vendor cannot give whole."""
    assert response.status_code == 502, response.text[:300]
    assert "cannot be made complete" in outcome_of(response)["issue"][0]["diagnostics"]


def outcome_notes(bundle: dict[str, Any]) -> list[str]:
    """The diagnostics of a searchset's outcome entries (what the answer says it lacks or did not do)."""
    return [
        issue["diagnostics"]
        for entry in bundle.get("entry", [])
        if entry.get("search", {}).get("mode") == "outcome"
        for issue in entry["resource"]["issue"]
    ]
