"""Updates holding one If-Match, in flight together, over vendors that keep no version the
gateway can send (NexHealth, Nextvisit: the adapter compares just before writing). R4
http.html#concurrency: a version that does not match is a 412 "instead of updating the
resource"; every writer but one must be refused, not answered 200 with its update lost."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from gateway.contract import Sandbox
from sandboxes.nexhealth import create_sandbox as nexhealth_sandbox
from sandboxes.nextvisit import create_sandbox as nextvisit_sandbox
from sandboxes.toolkit.chaos import Chaos, Faults
from tests.support.variants import gateway_over

JSON = {"Content-Type": "application/fhir+json"}
WRITERS = 6

NEW: dict[str, dict[str, Any]] = {
    "nexhealth": {
        "resourceType": "Patient",
        "name": [{"family": "Racedwrite", "given": ["Ida"]}],
        "telecom": [
            {"system": "email", "value": "ida.raced@example.org"},
            {"system": "phone", "value": "(773) 555-4411"},
        ],
        "birthDate": "1988-04-05",
        "gender": "female",
    },
    "nextvisit": {
        "resourceType": "Patient",
        "name": [{"use": "official", "family": "Racedwrite", "given": ["Ida"]}],
        "gender": "female",
        "birthDate": "1988-04-05",
        "telecom": [{"system": "phone", "value": "5550004411", "use": "mobile"}],
    },
}
SANDBOXES: dict[str, Callable[[], Sandbox]] = {"nexhealth": nexhealth_sandbox, "nextvisit": nextvisit_sandbox}


def _over_a_network(vendor: str) -> Sandbox:
    # Every answer 20-60 ms late, as over a network: the writers' reads and writes interleave.
    sandbox = SANDBOXES[vendor]()
    return dataclasses.replace(sandbox, app=Chaos(sandbox.app, Faults(latency=(0.02, 0.06))))


@pytest.mark.parametrize("vendor", sorted(SANDBOXES))
def test_updates_holding_one_if_match_are_one_200_and_the_rest_412(vendor: str) -> None:
    with gateway_over(vendor, lambda: _over_a_network(vendor)) as running:
        fhir, base = running.fhir, f"/fhir/{vendor}"
        created = fhir.request("POST", f"{base}/Patient", json=NEW[vendor], headers=JSON)
        assert created.status_code == 201, created.text
        current = fhir.request("GET", f"{base}/Patient/{created.json()['id']}")
        resource, etag = current.json(), current.headers["ETag"]

        def put(writer: int) -> tuple[int, str]:
            body = {**resource, "name": [{**resource["name"][0], "given": [f"Writer{writer}"]}]}
            answer = fhir.request(
                "PUT", f"{base}/Patient/{resource['id']}", json=body, headers={**JSON, "If-Match": etag}
            )
            return answer.status_code, f"Writer{writer}"

        with ThreadPoolExecutor(WRITERS) as pool:
            answers = list(pool.map(put, range(WRITERS)))
        statuses = sorted(status for status, _ in answers)
        assert statuses == [200] + [412] * (WRITERS - 1), answers
        (winner,) = [writer for status, writer in answers if status == 200]
        assert fhir.get_ok(f"{base}/Patient/{resource['id']}")["name"][0]["given"] == [winner]
