"""A NexHealth whose gender is a Rails enum (`male` taken, `Male` a 500 rather than a refusal):
the first writes of a tenant find the spelling it serves from one listed page, whether they
come together or after that page once failed; where that page lists no one, from the spellings
tried in turn, each once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from gateway.contract import Drift
from gateway.errors import UpstreamError, UpstreamTimeout
from mappings.nexhealth.adapter import NexHealthAdapter
from mappings.nexhealth.client import Envelope, VendorFailed

LISTED = {"id": 7, "first_name": "Ada", "last_name": "Okafor", "bio": {"gender": "male"}}


class RailsEnum:
    """Lists one patient (its gender in lower case); a write spelling gender otherwise is a 500."""

    location_strict = False

    def __init__(self, list_failures: list[Exception]) -> None:
        self.list_failures = list_failures
        self.lists = 0

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Envelope:
        await asyncio.sleep(0.01)  # a round trip: other requests run meanwhile
        if method == "GET":
            self.lists += 1
            if self.list_failures:
                raise self.list_failures.pop(0)
            return Envelope({"patients": [LISTED]}, 1)
        if json["patient"]["bio"]["gender"] not in ("male", "female", "other"):
            raise UpstreamError("NexHealth failed (HTTP 500)")
        return Envelope({"patient": {"id": 8, **json["patient"]}}, None)


def _adapter(client: RailsEnum) -> NexHealthAdapter:
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)
    adapter._drift = Drift()
    adapter._gender_spelling = None
    adapter._served_spelling = None
    adapter._gender_at = adapter._served_gender_at = None
    adapter._spelling_looked_up = False
    adapter._spelling_lock = asyncio.Lock()
    adapter._scope_in_body = {}
    adapter.client = client  # type: ignore[assignment]
    return adapter


async def _create(adapter: NexHealthAdapter, first: str) -> dict[str, Any]:
    async def accept(envelope: Envelope, sent: dict[str, Any]) -> dict[str, Any] | None:
        return dict(envelope.data["patient"])

    fields = {"first_name": first, "last_name": "Okafor", "bio": {"gender": "Female"}}
    created, _ = await adapter._write("POST", "/patients", fields, ["nested"], {}, accept)
    return created


def test_writes_arriving_together_all_wait_for_the_spelling_listed() -> None:
    # The second of two creates sent at once went out as `Female` while the first was still
    # listing patients: a 500, and the client met a 502.
    client = RailsEnum([])
    adapter = _adapter(client)

    async def together() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(_create(adapter, name) for name in ("Ada", "Ben", "Cy"))))

    created = asyncio.run(together())
    assert [p["bio"]["gender"] for p in created] == ["female"] * 3
    assert client.lists == 1  # one page for all of them


@pytest.mark.parametrize("failure", [UpstreamTimeout("NexHealth timed out"), UpstreamError("NexHealth failed")])
def test_a_list_failing_once_does_not_leave_every_later_write_unhinted(failure: Exception) -> None:
    # The page is a hint: its failure leaves the write to try every spelling (here, a 500 on
    # `Female`), and the next write lists again. Once failed, it was never asked again, and
    # every later create of the tenant was a 502 (a timeout even failed the write untried).
    client = RailsEnum([failure])
    adapter = _adapter(client)
    with pytest.raises(UpstreamError):
        asyncio.run(_create(adapter, "Ada"))
    assert asyncio.run(_create(adapter, "Ben"))["bio"]["gender"] == "female"
    assert client.lists == 2


class NewOffice(RailsEnum):
    """Lists no one (a practice with no patient yet); a write is a 500 unless spelled `taken`."""

    def __init__(self, taken: tuple[str, ...]) -> None:
        super().__init__([])
        self.taken = taken
        self.writes: list[str] = []

    async def request(self, method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Envelope:
        if method == "GET":
            self.lists += 1
            return Envelope({"patients": []}, 0)
        gender = json["patient"]["bio"]["gender"]
        self.writes.append(gender)
        if gender not in self.taken:
            raise VendorFailed("The vendor system failed (HTTP 500)")
        return Envelope({"patient": {"id": 8, **json["patient"]}}, None)


def test_with_no_patient_to_show_the_spelling_a_failure_tries_the_next_and_learns_it() -> None:
    # A new office lists no one: the first create's `Female` was a 500 where NexHealth (a Rails
    # enum) wanted `F`, and the office could never get its first patient.
    client = NewOffice(("M", "F", "O"))
    adapter = _adapter(client)
    assert asyncio.run(_create(adapter, "Ada"))["bio"]["gender"] == "F"
    assert client.writes == ["Female", "female", "F"]
    assert asyncio.run(_create(adapter, "Ben"))["bio"]["gender"] == "F"
    assert client.writes[3:] == ["F"]  # learned: the next write goes out in it at once


def test_a_nexhealth_failing_every_write_is_a_failure_after_each_spelling_once() -> None:
    client = NewOffice(())
    adapter = _adapter(client)
    with pytest.raises(UpstreamError, match="every spelling of gender"):
        asyncio.run(_create(adapter, "Ada"))
    assert client.writes == ["Female", "female", "F", "FEMALE"]


def test_a_failure_is_a_failure_once_a_spelling_is_known() -> None:
    # The location shows `male`: a 500 on a write in it is NexHealth failing, not a spelling to change.
    client = RailsEnum([])
    adapter = _adapter(client)
    asyncio.run(_create(adapter, "Ada"))
    client.request = _failing  # type: ignore[method-assign]
    with pytest.raises(VendorFailed):
        asyncio.run(_create(adapter, "Ben"))


async def _failing(method: str, path: str, params: dict[str, Any] | None = None, json: Any = None) -> Envelope:
    raise VendorFailed("The vendor system failed (HTTP 500)")
