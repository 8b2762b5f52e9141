"""Nextech's token endpoint as another team's framework answers: a refused refresh spelled as it
spells refusals (`create_app(oauth_errors=...)`, `sandboxes/nextech/token_errors.py`), and a
token answered with another success status (`oauth_token_status`): what a FHIR client sees.

Each refusal test starts one simulator with the switch, makes one search work, revokes every refresh
token and moves the vendor's clock past the access token's life: the next search makes the
gateway renew, and the vendor refuses. The client must then see a 502 `security` outcome
telling the operator to reconnect (the grant is gone; asking again will not mend it), never a
`transient` one inviting it to retry.
"""

from __future__ import annotations

from functools import partial

import pytest

from sandboxes.clinic import build_clinic
from sandboxes.nextech import create_sandbox
from tests.support.clock import OffsetClock
from tests.support.fhir_http import outcome_of
from tests.support.variants import gateway_over

TENANT = "nextech"
BASE = f"/fhir/{TENANT}"
ACCESS_TTL = 3600.0


def _refused_refresh_outcome(spelling: str, status: int = 400) -> dict[str, object]:
    """The OperationOutcome a search meets once the vendor refuses the gateway's refresh token
    (as `spelling` words it; a refused grant answered `status` where the spelling keeps it)."""
    clock = OffsetClock()
    create = partial(
        create_sandbox,
        build_clinic(),
        oauth_errors=spelling,
        oauth_refused_grant_status=status,
        clock=clock,
        access_ttl=ACCESS_TTL,
    )
    with gateway_over("nextech", create, tenant=TENANT) as running:
        running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smith"})  # connected and working
        running.sandbox.app.state.revoke_refresh_tokens()
        clock.offset = 2 * ACCESS_TTL  # the access token expired at the vendor: the gateway renews
        response = running.fhir.get(f"{BASE}/Patient", params={"family": "Smith"})
        assert response.status_code == 502, response.text
        return outcome_of(response)


@pytest.mark.parametrize("spelling", ["azure", "passport"])
def test_a_refresh_token_refused_is_a_security_outcome_saying_to_reconnect(spelling: str) -> None:
    """`passport`: Laravel Passport up to 10 (league/oauth2-server before 9.0) refuses a revoked
    refresh token with a 401 `invalid_request` ("The refresh token is invalid."), not RFC 6749's
    400 `invalid_grant`. Before, the gateway read that as its token endpoint failing: a 502
    `transient` ("The vendor's token endpoint failed (HTTP 401)"), which invites clients to
    retry, asked again every few seconds, and no log telling the operator to reconnect."""
    issue = _refused_refresh_outcome(spelling)["issue"][0]  # type: ignore[index]
    assert issue["code"] == "security", issue
    assert "reconnect" in issue["diagnostics"], issue


@pytest.mark.parametrize("spelling", ["fastapi", "nestjs"])
def test_a_refusal_spelled_by_a_web_framework_is_read_where_it_puts_the_code(spelling: str) -> None:
    """A team's own token endpoint raising its framework's HTTP exception: FastAPI's
    `HTTPException(detail={"error": "invalid_grant", ...})` answers `{"detail": {...}}`,
    NestJS's `new BadRequestException("invalid_grant")` `{"message": "invalid_grant", "error":
    "Bad Request", "statusCode": 400}`. Before, the gateway read only the body's top `error`:
    a revoked grant was a 502 `transient` ("The vendor's token endpoint failed (HTTP 400)")."""
    issue = _refused_refresh_outcome(spelling)["issue"][0]  # type: ignore[index]
    assert issue["code"] == "security", issue
    assert "reconnect" in issue["diagnostics"], issue


@pytest.mark.parametrize("spelling", ["fastapi", "nestjs"])
def test_a_token_endpoint_taking_http_basic_only_is_connected_whatever_spells_its_refusal(spelling: str) -> None:
    """A token endpoint taking the client's secret in HTTP Basic only refuses it in the form as
    `invalid_client` (401), and the gateway then asks in Basic (RFC 6749 section 2.3.1). Spelled
    as FastAPI or NestJS spells it, the refusal went unrecognised before: the code exchange
    failed, the tenant was never connected, and every search was a 502."""
    create = partial(create_sandbox, build_clinic(), oauth_errors=spelling, oauth_client_auth="basic")
    with gateway_over("nextech", create, tenant=TENANT) as running:
        bundle = running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smith"})
        assert bundle["resourceType"] == "Bundle" and bundle.get("entry"), bundle


def test_a_token_endpoint_answering_201_created_is_connected_and_renews() -> None:
    """A NestJS team's token endpoint: a `@Post()` handler answers 201 unless told
    `@HttpCode(200)`. Before, the gateway took only a 200 for a token answer: the code exchange
    was "refused (201)", the tenant never connected (a sandbox tenant's gateway did not even
    start), and a renewal would have been "The vendor's token endpoint failed (HTTP 201)"."""
    clock = OffsetClock()
    create = partial(create_sandbox, build_clinic(), oauth_token_status=201, clock=clock, access_ttl=ACCESS_TTL)
    with gateway_over("nextech", create, tenant=TENANT) as running:
        calls = running.sandbox.app.state.token_calls
        assert running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smith"}).get("entry")
        renewed = calls.get("refresh_token", 0)
        clock.offset = 2 * ACCESS_TTL  # the access token expired at the vendor: the gateway renews
        assert running.fhir.get_ok(f"{BASE}/Patient", params={"family": "Smith"}).get("entry")
        assert calls.get("refresh_token", 0) == renewed + 1


def test_a_refresh_token_refused_with_the_docs_403_says_to_reconnect() -> None:
    """A refresh token refused `invalid_grant` with a 403, the docs' "The request is valid, but the
    server is refusing action" (their statuses have no 401; their 400 is for a malformed request).
    Before, the gateway read `invalid_grant` only with a 400 or 401: a 502 `transient` ("The
    vendor's token endpoint failed (HTTP 403)"), asked again every few seconds, no reconnect log."""
    issue = _refused_refresh_outcome("azure", 403)["issue"][0]  # type: ignore[index]
    assert issue["code"] == "security", issue
    assert "reconnect" in issue["diagnostics"], issue
