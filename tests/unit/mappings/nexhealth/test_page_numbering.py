"""Whether NexHealth numbers its pages from 1 or from 0 (its docs do not say) is learned from
its answers, and only from one that records added or removed between two calls cannot
explain: a wrong guess would end every later walk of the tenant after its first page."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from mappings.nexhealth.adapter import NexHealthAdapter
from mappings.nexhealth.client import Envelope

Ask = Callable[[dict[str, Any]], Awaitable[Envelope | None]]


def _vendor(records: list[int], base: int, per_page: int = 3) -> Ask:
    async def ask(params: dict[str, Any]) -> Envelope | None:
        index = int(params["page"]) - base if "page" in params else 0  # no `page`: the first page
        chunk = records[index * per_page : (index + 1) * per_page]
        return Envelope({"appointments": [{"id": r} for r in chunk]}, None) if chunk else None

    return ask


def _adapter() -> NexHealthAdapter:
    adapter = NexHealthAdapter.__new__(NexHealthAdapter)  # only the paging state is used
    adapter._page_base = None
    return adapter


async def _walk(adapter: NexHealthAdapter, ask: Ask, after_first: Callable[[], None] | None = None) -> list[int]:
    seen: list[int] = []
    async for envelope in adapter._pages(ask, {"per_page": 3}, "appointments"):
        if envelope is None:
            break
        fresh = [r["id"] for r in envelope.data["appointments"] if r["id"] not in seen]
        if not fresh:
            break  # a page of nothing new ends a walk, as the adapter's do
        seen += fresh
        if after_first is not None:
            after_first()
            after_first = None
    return seen


@pytest.mark.parametrize("base", [0, 1])
def test_the_numbering_is_learned_from_a_clear_answer(base: int) -> None:
    adapter, records = _adapter(), list(range(1, 9))
    assert asyncio.run(_walk(adapter, _vendor(records, base))) == records
    assert adapter._page_base == base
    assert asyncio.run(_walk(adapter, _vendor(records, base))) == records


def test_a_record_removed_between_the_first_two_calls_teaches_nothing_wrong() -> None:
    # Pages from 1; the first record goes between the first call and `page=1`, which is then
    # the first page without it: not the second page of a NexHealth numbering from 0.
    adapter, records = _adapter(), list(range(1, 9))
    ask = _vendor(records, 1)
    asyncio.run(_walk(adapter, ask, after_first=lambda: records.remove(1)))
    assert adapter._page_base != 0
    assert asyncio.run(_walk(adapter, ask)) == [2, 3, 4, 5, 6, 7, 8]  # every page, not the first alone


def test_a_record_added_between_the_first_two_calls_is_a_shift_not_the_first_page_again() -> None:
    # Pages from 0; a record added before the first page's last one pushes it onto the second.
    adapter, records = _adapter(), list(range(10, 90, 10))
    ask = _vendor(records, 0)
    walked = asyncio.run(_walk(adapter, ask, after_first=lambda: records.insert(1, 15)))
    assert walked == [10, 20, 30, 40, 50, 60, 70, 80] and adapter._page_base != 1


def test_a_numbering_an_answer_contradicts_is_forgotten() -> None:
    adapter, records = _adapter(), list(range(1, 9))
    adapter._page_base = 0  # learned wrongly, somehow
    assert asyncio.run(_walk(adapter, _vendor(records, 1))) == records
    assert adapter._page_base in (None, 1)
