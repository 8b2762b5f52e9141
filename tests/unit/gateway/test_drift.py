"""The drift monitor: unexpected vendor fields and unreadable records are counted and logged by
path, never by value."""

from __future__ import annotations

import logging

import pytest
from pydantic import Field, ValidationError

from gateway.contract import Drift, DriftKey, VendorModel


class Bio(VendorModel):
    date_of_birth: str | None = None


class Patient(VendorModel):
    id: int
    bio: Bio | None = None
    phones: list[Bio] = Field(default_factory=list)


def test_unknown_fields_are_counted_by_path_at_every_depth() -> None:
    drift = Drift("acme", "nexhealth")
    drift.fields("patient", Patient.model_validate({"id": 1, "ssn": "123-45-6789", "bio": {"insurer": "x"}}))
    drift.fields("patient", [Patient.model_validate({"id": 2, "ssn": "987-65-4321"})])
    assert drift.counts() == {
        DriftKey("patient", "unexpected field", "ssn"): 2,
        DriftKey("patient", "unexpected field", "bio.insurer"): 1,
    }


def test_a_list_reports_each_path_once_per_answer() -> None:
    drift = Drift()
    drift.fields("patient", Patient.model_validate({"id": 1, "phones": [{"kind": "a"}, {"kind": "b"}]}))
    assert drift.counts() == {DriftKey("patient", "unexpected field", "phones[].kind"): 1}


def test_declared_fields_are_not_drift() -> None:
    drift = Drift()
    drift.fields("patient", Patient.model_validate({"id": 1, "bio": {"date_of_birth": "1990-01-01"}}))
    assert drift.counts() == {}


def test_keys_that_are_not_field_names_are_not_recorded_as_sent() -> None:
    drift = Drift()
    drift.fields("patient", Patient.model_validate({"id": 1, "Renée Núñez 555-1234": True}))
    assert drift.counts() == {DriftKey("patient", "unexpected field", "<key>"): 1}


def test_unreadable_records_name_the_field_not_the_value(caplog: pytest.LogCaptureFixture) -> None:
    drift = Drift("acme", "nexhealth")
    with pytest.raises(ValidationError) as caught:
        Patient.model_validate({"id": "Renée Núñez", "bio": {"date_of_birth": 19900101}})
    with caplog.at_level(logging.WARNING, logger="fhir_gateway.drift"):
        drift.unreadable("patient", caught.value)
        drift.unreadable("patient", caught.value)
    assert drift.counts() == {
        DriftKey("patient", "unreadable", "id"): 2,
        DriftKey("patient", "unreadable", "bio.date_of_birth"): 2,
    }
    assert len(caplog.records) == 2  # the first sighting of each path, not every one
    assert "Renée" not in caplog.text and "19900101" not in caplog.text
    assert "tenant=acme" in caplog.text and "unreadable=bio.date_of_birth" in caplog.text
