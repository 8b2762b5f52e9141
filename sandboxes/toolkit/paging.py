"""Page-number paging: which items page `page` of `per_page` holds.

The Dental PMS (``page``/``page_size``), NexHealth (``page``/``per_page``) and Nextvisit
(Laravel's ``LengthAwarePaginator``) all number pages from 1 and cut the ordered result
into consecutive pages; a page past the end is empty. How each reads and validates its
page parameters differs and stays with the vendor.
"""

from __future__ import annotations

from typing import TypeVar

__all__ = ["page_slice"]

T = TypeVar("T")


def page_slice(items: list[T], page: int, per_page: int) -> list[T]:
    """The items on page `page` (1-based) when `items` are cut into pages of `per_page`."""
    start = (page - 1) * per_page
    return items[start : start + per_page]
