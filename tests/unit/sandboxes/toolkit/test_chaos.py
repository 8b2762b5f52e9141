"""sandboxes.toolkit.chaos: the faults a request meets depend on the seed and the request, not on
the order concurrent clients arrive in; a retry draws afresh; new faults start the draws again."""

from __future__ import annotations

import asyncio

from starlette.types import Receive, Scope, Send

from sandboxes.toolkit.chaos import Chaos, Faults

PATHS = [f"/patients/{n}" for n in range(40)]


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def _status(chaos: Chaos, path: str) -> int:
    statuses: list[int] = []

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(str(message["status"])))

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": path, "query_string": b"page=2", "headers": []}
    asyncio.run(chaos(scope, receive, send))  # type: ignore[arg-type]
    return statuses[0]


def test_the_same_requests_meet_the_same_faults_in_any_order() -> None:
    faults = Faults(error=0.3, seed=5)
    forward = Chaos(_ok, faults)
    backward = Chaos(_ok, faults)
    met = {path: _status(forward, path) for path in PATHS}
    assert {path: _status(backward, path) for path in reversed(PATHS)} == met
    assert 0 < sum(status == 500 for status in met.values()) < len(PATHS)  # about 30 %, not all or none


def test_a_repeated_request_draws_afresh() -> None:
    chaos = Chaos(_ok, Faults(error=0.5, seed=5))
    assert len({_status(chaos, "/patients/1") for _ in range(20)}) == 2  # both a 500 and a 200


def test_setting_faults_starts_the_draws_again() -> None:
    chaos = Chaos(_ok, Faults(error=0.5, seed=9))
    first = [_status(chaos, "/patients/1") for _ in range(10)]
    chaos.faults = Faults(error=0.5, seed=9)
    assert [_status(chaos, "/patients/1") for _ in range(10)] == first
    assert chaos.calls == 20 and chaos.injected["error"] == 2 * first.count(500)
