"""gateway.upstream.oauth_refusals: a token endpoint's RFC 6749 §5.2 error code, wherever its framework puts it."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.upstream.oauth_refusals import token_error


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"error": "invalid_grant", "error_description": "AADSTS70008: ..."}, "invalid_grant"),  # RFC / Azure
        ({"detail": {"error": "invalid_client", "error_description": "bad secret"}}, "invalid_client"),  # FastAPI
        ({"detail": "invalid_grant"}, "invalid_grant"),  # FastAPI, the code alone
        ({"statusCode": 400, "message": "invalid_grant", "error": "Bad Request"}, "invalid_grant"),  # NestJS
        ({"error": " INVALID_GRANT "}, "invalid_grant"),
        ({"error": "server_busy"}, "server_busy"),  # a code of the server's own, kept for messages
        ({"statusCode": 500, "message": "Internal server error"}, None),
        ({"detail": [{"loc": ["body", "code"], "msg": "field required"}]}, None),  # FastAPI's 422
        (["invalid_grant"], None),
        (None, None),
    ],
)
def test_the_error_code_is_read_where_the_framework_puts_it(body: Any, code: str | None) -> None:
    assert token_error(body) == code
