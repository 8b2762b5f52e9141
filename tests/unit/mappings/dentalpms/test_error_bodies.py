"""The Dental PMS client reads the fields a validation error names from every error body shape
the docs leave open, and never passes on the values it echoes (they can be PHI)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.errors import Unprocessable
from gateway.upstream.http import UpstreamResponse
from mappings.dentalpms.client import fields_of, message_of
from mappings.dentalpms.writes import PatientWrites

SECRET = "ann.secret@example.org"


@pytest.mark.parametrize(
    "body",
    [
        # documented (FastAPI)
        {"detail": [{"type": "value_error", "loc": ["body", "email"], "msg": "not an email", "input": SECRET}]},
        # Spring Boot's default error attributes with binding errors
        {
            "timestamp": "2024-06-01T12:00:00.000+00:00",
            "status": 422,
            "error": "Unprocessable Entity",
            "path": "/api/v1/org/patients",
            "errors": [{"field": "email", "defaultMessage": "not an email", "rejectedValue": SECRET, "code": "Email"}],
        },
        # Spring 6's ProblemDetail: `detail` a text, the field errors beside it
        {
            "type": "about:blank",
            "title": "Unprocessable Entity",
            "status": 422,
            "detail": "Validation failed",
            "errors": [{"field": "email", "message": "not an email", "rejectedValue": SECRET}],
        },
    ],
    ids=["fastapi", "spring-binding-errors", "problem-detail"],
)
def test_the_field_a_validation_error_names_is_read_and_its_value_is_not(body: dict[str, Any]) -> None:
    assert fields_of(body) == ["email"]
    assert SECRET not in message_of(body)


def test_a_field_named_as_its_java_property_is_the_element_it_came_from() -> None:
    # Spring's FieldError names the bean property (`dateOfBirth`), not the JSON name the
    # reference documents (`date_of_birth`), whatever naming strategy Jackson writes with.
    body = {
        "status": 422,
        "error": "Unprocessable Entity",
        "errors": [
            {"field": "dateOfBirth", "defaultMessage": "must be a past date", "rejectedValue": "2999-01-01"},
            {"field": "addressLine1", "defaultMessage": "size must be at most 100", "rejectedValue": SECRET},
        ],
    }
    refused = PatientWrites._error(UpstreamResponse(422, {}, orjson.dumps(body)))
    assert isinstance(refused, Unprocessable)
    assert refused.expression == "Patient.birthDate"
    assert "Patient.address.line" in refused.diagnostics and SECRET not in refused.diagnostics
    assert "2999" not in refused.diagnostics
