"""How often the patient lists' reading (every status, or active only) is checked."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from gateway.contract import Drift
from mappings.dentalpms import adapter as adapter_module
from mappings.dentalpms.adapter import UNDECIDED_FOR, DentalPmsAdapter
from mappings.dentalpms.reader import Reader


def _patient(n: int, status: str) -> dict[str, Any]:
    return {"id": str(uuid.UUID(int=n)), "last_name": f"P{n}", "status": status, "version": 1}


class _Lists:
    """A vendor listing only active patients without `status` (the counts' default)."""

    def __init__(self, patients: list[dict[str, Any]]) -> None:
        self.patients = patients
        self.calls = 0

    async def cursor_page(self, params: dict[str, Any]) -> Any:
        self.calls += 1
        status = params.get("status", "active")
        found = [p for p in self.patients if p["status"] == status]
        return {"data": found[: params["first"]], "has_more": len(found) > params["first"], "next_cursor": None}


def _adapter(lists: _Lists) -> DentalPmsAdapter:
    adapter = object.__new__(DentalPmsAdapter)  # only what the check uses
    adapter._reader = Reader(Drift())
    adapter._unasked = None
    adapter._undecided_at = None
    adapter._cursor_page = lists.cursor_page  # type: ignore[method-assign]
    return adapter


def test_a_clinic_of_active_patients_is_checked_once_a_minute_not_at_every_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(adapter_module.time, "monotonic", lambda: now[0])
    lists = _Lists([_patient(1, "active"), _patient(2, "active")])
    adapter = _adapter(lists)
    assert asyncio.run(adapter._unasked_statuses()) is None
    assert lists.calls == 3  # one list of each status that is not active: all empty, nothing to miss
    assert asyncio.run(adapter._unasked_statuses()) is None and lists.calls == 3
    lists.patients.append(_patient(3, "inactive"))  # under this reading, missing until the next check
    now[0] += UNDECIDED_FOR
    assert asyncio.run(adapter._unasked_statuses()) == "active"
    assert lists.calls == 3 + 3 + 2  # the status sorts tell the reading: learned for good
    assert asyncio.run(adapter._unasked_statuses()) == "active" and lists.calls == 8
