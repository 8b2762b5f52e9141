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
        # ASP.NET Core's ValidationProblemDetails: no `detail`, the errors by JSON path or property
        {
            "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
            "title": "One or more validation errors occurred.",
            "status": 400,
            "errors": {"$.email": ["The JSON value could not be converted to System.String. Path: $.email"]},
            "traceId": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00",
        },
        # NestJS's ValidationPipe: class-validator's messages, each starting with the property
        {"statusCode": 400, "message": ["email must be an email"], "error": "Bad Request"},
        # A Rails scaffold's `render json: @patient.errors`: the messages by attribute, nothing else
        {"email": ["is invalid"]},
    ],
    ids=["fastapi", "spring-binding-errors", "problem-detail", "aspnet-validation-problem-details", "nestjs", "rails"],
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


def test_an_aspnet_problem_details_says_what_its_title_and_errors_say() -> None:
    # Before, a ProblemDetails without `detail` (ASP.NET Core's validation failure, or a bare
    # `Conflict()`) gave no message at all: the client was told only that the vendor refused.
    validation = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": {"Search": ["String should have at least 3 characters"], "$.page": ["Not a number"]},
    }
    assert message_of(validation) == "Search: String should have at least 3 characters; page: Not a number"
    assert fields_of(validation) == ["Search", "page"]
    assert message_of({"type": "about:blank", "title": "Conflict", "status": 409}) == "Conflict"
    assert message_of({"title": "Conflict", "status": 409, "detail": "Duplicate chart number"}) == (
        "Duplicate chart number"
    )


def test_a_field_named_by_its_json_path_or_property_is_the_element_it_came_from() -> None:
    body = {
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": {"Email": ["The Email field is not a valid e-mail address."], "$.date_of_birth": ["Bad date"]},
    }
    refused = PatientWrites._error(UpstreamResponse(400, {}, orjson.dumps(body)))
    assert isinstance(refused, Unprocessable)
    assert "Patient.telecom" in str(refused) and "Patient.birthDate" in str(refused)


def test_a_nestjs_error_says_its_message_not_its_reason_phrase() -> None:
    # NestJS's HttpException: `error` is only the status's reason phrase ("Conflict").
    conflict = {"statusCode": 409, "message": "Duplicate chart number", "error": "Conflict"}
    assert message_of(conflict) == "Duplicate chart number"
    validation = {
        "statusCode": 400,
        "message": ["date_of_birth must be a valid ISO 8601 date string"],
        "error": "Bad Request",
    }
    assert message_of(validation) == "date_of_birth must be a valid ISO 8601 date string"
    refused = PatientWrites._error(UpstreamResponse(400, {}, orjson.dumps(validation)))
    assert isinstance(refused, Unprocessable) and refused.expression == "Patient.birthDate"


def test_a_rails_error_says_its_messages_by_attribute_and_nothing_else_is_taken_for_one() -> None:
    assert message_of({"email": ["is invalid"], "last_name": ["can't be blank", "is too short"]}) == (
        "email: is invalid; last_name: can't be blank"
    )
    assert message_of({"error": "Version conflict"}) == "Version conflict"
    # Not a model's errors: a value that is no list of messages.
    assert fields_of({"status": 404, "error": "Not Found"}) == [] and fields_of({"email": []}) == []
