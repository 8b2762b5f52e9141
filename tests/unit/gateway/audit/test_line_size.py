"""A line naming at most one patient is one pipe write however long what it holds, unmeasured.

gateway.audit.events serializes a line once more to measure it only when it names several
patients: these are the longest lines it does not measure.
"""

from __future__ import annotations

from typing import Any

import pytest

from gateway.audit.events import Request, audit_event
from gateway.audit.sink import audit_line
from gateway.auth.decision import Caller
from gateway.auth.scopes import Scopes

TYPE = "A" + "b" * 62  # the longest a resource type may be
ID = "i" * 64  # the longest FHIR id


@pytest.mark.parametrize("filler", ["c", '"', "\x01", "é", "\ud800"])
@pytest.mark.parametrize("path", [f"/{TYPE}/{ID}", "/Patient/" + ID, f"/{TYPE}"])
def test_the_longest_line_naming_one_patient_is_one_pipe_write(filler: str, path: str) -> None:
    tenant = "t" + filler * 3_000
    caller = Caller("hie-" + filler * 18_000, "Practitioner/" + filler * 9_000, Scopes((), (), ()))
    address = "fe80::1%" + filler * 5_000
    patients = (ID,) if path.startswith("/Patient/") else ("p" * 64,)  # one patient in all
    request = Request("DELETE", f"/fhir/{tenant}{path}", "r" * 64, address, patients=patients, location=None)
    event: dict[str, Any] = audit_event(request, 599, caller, tenants={tenant})
    assert sum(1 for e in event["entity"] if e.get("role", {}).get("code") == "1") == 1
    event["extension"].append({"url": "urn:fhir-gateway:audit-sequence", "valueInteger": 2**63 - 1})
    assert len(audit_line(event)) + 1 <= 4096  # the line and its newline: PIPE_BUF on Linux (POSIX write(2))


def test_a_create_naming_the_record_it_made_is_one_pipe_write() -> None:
    location = f"http://h/fhir/t/{TYPE}/{ID}/_history/{ID}"
    caller = Caller("\ud800" * 18_000, "\ud800" * 9_000, Scopes((), (), ()))
    address = "fe80::1%" + "x" * 5_000
    request = Request("POST", f"/fhir/t/{TYPE}", "r" * 64, address, patients=("p" * 64,), location=location)
    event: dict[str, Any] = audit_event(request, 201, caller, tenants={"t"})
    event["extension"].append({"url": "urn:fhir-gateway:audit-sequence", "valueInteger": 2**63 - 1})
    assert len(audit_line(event)) + 1 <= 4096
