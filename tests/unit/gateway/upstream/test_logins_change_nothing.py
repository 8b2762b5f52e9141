"""Vendor logins and OAuth token requests are POSTs that change nothing at the vendor: failed as
a read is, never as a write that "may have been applied".

A read waits on the login its token needs (gateway.upstream.tokens), and the token cache's
failure hold repeats a failed login to every request waiting: told "504 processing ... the write
may have been applied" of a login, a client reading a patient is told of a write it never asked
for, and one that would resend a read on `timeout` does not. `UpstreamClient.request(...,
changes_nothing=True)` is how a login says so; every login and token POST passes it (the last
test reads the sources for one that does not).
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.contract.resilience import BreakerPolicy, Resilience, RetryPolicy
from gateway.errors import FHIRError
from gateway.upstream.http import Timeouts, UpstreamClient
from gateway.upstream.oauth import form_poster
from tests.support.scripted_vendor import Script, ScriptedVendor, head
from tests.unit.gateway.test_unconfirmed_writes import NEXTVISIT, gateway_before

ROOT = Path(__file__).resolve().parents[4]
NO_BREAKER = BreakerPolicy(consecutive=10_000, min_calls=10_000)
SOCK_READ_RUNS_OUT = Timeouts(connect=1, read=0.1, total=2)
NEVER_ANSWERS = Script()  # reads the login and never answers
CUT_SHORT = Script(head(200, 100) + b'{"token":', close=True)  # a 2xx whose body is cut short
CLOSED = Script(close=True)  # reads the login and closes the connection without a word
NEXHEALTH = {
    "vendor": "nexhealth",
    "options": {"subdomain": "clinic", "location_id": 1},
    "credentials": {"api_key": "env:UNCONFIRMED_API_TOKEN"},
}


@pytest.fixture
def vendor() -> Iterator[ScriptedVendor]:
    server = ScriptedVendor({"/never/": NEVER_ANSWERS, "/cut/": CUT_SHORT, "/closed/": CLOSED})
    server.start()
    yield server
    server.stop()


def login_failure(url: str, path: str) -> FHIRError:
    async def scenario() -> FHIRError:
        retry = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.01, budget_ratio=0.2, budget_burst=10)
        client = UpstreamClient(url, SOCK_READ_RUNS_OUT, 8, Resilience(retry, NO_BREAKER))
        try:
            with pytest.raises(FHIRError) as failed:
                await client.request("POST", path, json={"email": "gw@example.test"}, changes_nothing=True)
            return failed.value
        finally:
            await client.aclose()

    return asyncio.run(scenario())


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/never/login", 504, "timeout"), ("/cut/login", 502, "transient"), ("/closed/login", 502, "transient")],
    ids=["not-answered-in-time", "2xx-cut-short", "connection-closed"],
)
def test_a_login_whose_answer_is_lost_fails_as_a_read_would(
    vendor: ScriptedVendor, path: str, status: int, code: str
) -> None:
    # Before: 504 / 502 `processing`, "the write ... may have been applied" / "took the write"
    error = login_failure(vendor.url, path)
    assert (error.status, error.code) == (status, code)
    assert "write" not in error.diagnostics
    assert vendor.read == [f"POST {path}"]  # sent once, as before: a refresh token may be spent by it


def test_an_oauth_token_request_not_answered_in_time_is_a_timeout(vendor: ScriptedVendor) -> None:
    async def scenario() -> FHIRError:
        client = UpstreamClient(vendor.url, SOCK_READ_RUNS_OUT, 8, Resilience(breaker=NO_BREAKER))
        try:
            with pytest.raises(FHIRError) as failed:
                await form_poster(client, "/never/token")({"grant_type": "refresh_token", "client_secret": "s"})
            return failed.value
        finally:
            await client.aclose()

    error = asyncio.run(scenario())
    assert (error.status, error.code) == (504, "timeout"), error.diagnostics


def read_outcome(tenant: dict[str, object], login_path: str, login: Script, read_path: str) -> httpx.Response:
    with gateway_before(tenant) as running:
        running.vendor.scripts[login_path] = login
        return running.http.get(read_path)


@pytest.mark.parametrize(
    ("tenant", "login_path"),
    [(NEXTVISIT, "/v1/auth/tokens"), (NEXHEALTH, "/authenticates")],
    ids=["nextvisit", "nexhealth"],
)
@pytest.mark.parametrize("login", [NEVER_ANSWERS, CUT_SHORT], ids=["not-answered-in-time", "2xx-cut-short"])
def test_a_read_whose_vendor_login_fails_is_not_told_of_a_write(
    tenant: dict[str, object], login_path: str, login: Script
) -> None:
    # Before: 504 `processing` "The vendor system did not answer the write in time; it may have
    # been applied" (502 "took the write" for the cut answer), to a client reading a patient.
    response = read_outcome(tenant, login_path, login, "/fhir/clinic/Patient/1")
    issue = response.json()["issue"][0]
    assert response.status_code in (502, 504), response.text
    assert issue["code"] in ("timeout", "transient"), issue
    assert "write" not in issue["diagnostics"], issue


def login_posts(source: Path) -> Iterator[ast.Call]:
    """The `.request("POST", ...)` calls in `source`."""
    for node in ast.walk(ast.parse(source.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "request"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "POST"
        ):
            yield node


def test_every_login_and_token_post_says_it_changes_nothing() -> None:
    # The vendor clients' POSTs are their logins (their writes are in the adapters); oauth.py's is
    # the token request every OAuth vendor shares.
    sources = [*sorted((ROOT / "mappings").glob("*/client.py")), ROOT / "gateway" / "upstream" / "oauth.py"]
    found = {source.relative_to(ROOT).as_posix(): list(login_posts(source)) for source in sources}
    assert {"mappings/nexhealth/client.py", "mappings/nextvisit/client.py", "gateway/upstream/oauth.py"} <= {
        name for name, calls in found.items() if calls
    }
    for name, calls in found.items():
        for call in calls:
            flags = {k.arg: k.value for k in call.keywords}
            flag = flags.get("changes_nothing")
            assert isinstance(flag, ast.Constant) and flag.value is True, f"{name}:{call.lineno}"
