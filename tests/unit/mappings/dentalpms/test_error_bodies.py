"""The Dental PMS client reads the fields a validation error names from every error body shape
the docs leave open, and never passes on the values it echoes (they can be PHI)."""

from __future__ import annotations

from typing import Any

import pytest

from mappings.dentalpms.client import fields_of, message_of

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
