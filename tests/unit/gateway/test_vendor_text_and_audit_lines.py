"""Vendor text enters the gateway in NFC, every resource leaves it in NFC, and the audit trail
stays one whole JSON line per request whatever standard output does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import unicodedata
from typing import Any

import orjson
import pytest

from gateway.audit.sink import AuditUnavailable, StdoutSink
from gateway.contract import ResourceDeclaration, ResourceProvider, SearchRequest, TenantContext, VendorPage
from gateway.search.model import SearchQuery
from gateway.tenants import guarded
from gateway.text import nfc
from gateway.upstream.errors import error_from_response
from gateway.upstream.http import UpstreamResponse

RENEE_NFC = "Ren\u00e9e"
RENEE_NFD = "Rene\u0301e"
CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")


# -- NFC: every resource a provider returns is served in NFC (gateway.tenants.guarded) ----------


def test_a_search_page_given_as_a_tuple_is_still_served_in_nfc() -> None:
    """`VendorPage.resources` is a `Sequence`: before, `[nfc(r) for r in page.resources]` put each
    resource in NFC whatever the sequence; `nfc(page.resources)` walks lists and dicts only, so a
    tuple of resources now goes out decomposed."""

    async def read(resource_id: str) -> dict[str, Any]:
        raise AssertionError

    async def search(request: SearchRequest) -> VendorPage:
        return VendorPage(({"resourceType": "Patient", "id": "p1", "name": [{"family": RENEE_NFD}]},), None)

    provider = guarded(ResourceProvider(ResourceDeclaration("Patient"), read, search), "fake")
    assert provider.search is not None
    page = asyncio.run(provider.search(SearchRequest(SearchQuery("Patient", (), ()), None, 10)))
    assert [r["name"][0]["family"] for r in page.resources] == [RENEE_NFC]


# -- NFC moved from the Text fields to the parse of every vendor answer -------------------------


def _served(mapper: Any, body: bytes) -> Any:
    """What the gateway serves for this vendor answer: parsed where answers enter, mapped, NFC."""
    return nfc(mapper(UpstreamResponse(200, {}, body).json()))


def test_a_records_version_does_not_depend_on_how_the_vendor_normalized_its_text() -> None:
    """Nextvisit's free-text `allergies` is hashed into the versionId (the ETag): the same text
    stored composed or decomposed is the same record, with the same version."""
    from mappings.nextvisit.allergy import allergies_to_fhir

    def body(text: str) -> bytes:
        return orjson.dumps({"id": "791", "first_name": "Ann", "allergies": text, "updated_at": "2024-06-20 14:45:00"})

    def mapper(record: Any) -> Any:
        return allergies_to_fhir(record, CTX)

    composed, decomposed = (_served(mapper, body(f"Penicillin, {name}")) for name in (RENEE_NFC, RENEE_NFD))
    assert [r["code"]["text"] for r in decomposed] == [r["code"]["text"] for r in composed]
    assert [r["meta"]["versionId"] for r in decomposed] == [r["meta"]["versionId"] for r in composed]


def test_a_patients_version_does_not_depend_on_how_its_stored_copy_was_normalized() -> None:
    """Same for the Patient's stored FHIR copy (`meta.fhir`), hashed into its versionId."""
    from mappings.nextvisit.patient import patient_to_fhir

    def body(city: str) -> bytes:
        return orjson.dumps(
            {
                "id": "791",
                "first_name": "Ann",
                "updated_at": "2024-06-20 14:45:00",
                "meta": {"fhir": {"address": [{"city": city}]}},
            }
        )

    def mapper(record: Any) -> Any:
        return patient_to_fhir(record, CTX)

    composed, decomposed = (_served(mapper, body(city)) for city in ("Montr\u00e9al", "Montre\u0301al"))
    assert decomposed["address"] == composed["address"]
    assert decomposed["meta"]["versionId"] == composed["meta"]["versionId"]


def test_a_vendor_error_message_is_quoted_in_nfc() -> None:
    """A vendor's error text quoted in an OperationOutcome's diagnostics is vendor text too."""
    message = "Nu\u0301n\u0303ez is not a valid name"
    body = orjson.dumps({"message": message})
    error = error_from_response(UpstreamResponse(422, {}, body), lambda b: b["message"] if b else "")
    assert error.diagnostics == f"The vendor rejected the request: {unicodedata.normalize('NFC', message)}"


# -- the audit line on standard output ----------------------------------------------------------


def test_an_audit_line_cut_by_a_full_non_blocking_stdout_does_not_corrupt_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A non-blocking standard output (a TTY or socket shared with a process that set O_NONBLOCK)
    may take part of a line and then answer EAGAIN: the request is refused (503), and the rest of
    the line is kept and written before the next one, so every line of the trail stays one whole
    JSON object."""
    read_end, write_end = os.pipe()
    stdout = os.fdopen(write_end, "w", closefd=True)
    monkeypatch.setattr(sys, "stdout", stdout)
    real_write = os.write
    calls = {"n": 0}

    def flaky_write(fd: int, data: bytes) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(fd, bytes(data[:10]))  # the descriptor took 10 bytes
        if calls["n"] == 2:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", flaky_write)  # the sink's write(2); the text layer does not use it
    sink = StdoutSink()
    with contextlib.suppress(AuditUnavailable):  # the request is refused (503): as before
        sink.write({"resourceType": "AuditEvent", "n": 1})
    sink.write({"resourceType": "AuditEvent", "n": 2})
    stdout.flush()
    stdout.close()
    with open(read_end, "rb") as pipe:
        lines = pipe.read().splitlines()
    for line in lines:
        orjson.loads(line)  # every line of the trail is one whole JSON object
