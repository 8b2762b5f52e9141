"""sandboxes.toolkit.paging: page slices."""

from __future__ import annotations

import pytest

from sandboxes.toolkit.paging import page_slice

ITEMS = list(range(1, 8))  # 7 items


@pytest.mark.parametrize(
    ("page", "per_page", "expected"),
    [
        (1, 3, [1, 2, 3]),
        (2, 3, [4, 5, 6]),
        (3, 3, [7]),
        (4, 3, []),
        (1, 50, ITEMS),
        (7, 1, [7]),
    ],
)
def test_page_slice(page: int, per_page: int, expected: list[int]) -> None:
    assert page_slice(ITEMS, page, per_page) == expected


def test_page_slice_leaves_the_input_alone() -> None:
    items = [1, 2, 3]
    page_slice(items, 1, 2).append(99)
    assert items == [1, 2, 3]
