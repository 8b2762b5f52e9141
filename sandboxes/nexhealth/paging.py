"""NexHealth's paging, Kaminari-like and lenient.

``page`` defaults to 1 and ``per_page`` to 5, at most 1000 (larger values are silently
capped); a missing, non-integer or < 1 value means the default. A page past the end is an
empty list (the envelope's ``count`` still says the true total).
"""

from __future__ import annotations

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "paging"]

DEFAULT_PER_PAGE = 5
MAX_PER_PAGE = 1000


def _lenient(value: str | None, default: int) -> int:
    if value is None or not (value.isascii() and value.isdigit()) or int(value) < 1:
        return default
    return int(value)


def paging(page: str | None, per_page: str | None) -> tuple[int, int]:
    """The page number and page size these raw parameters ask for."""
    return _lenient(page, 1), min(_lenient(per_page, DEFAULT_PER_PAGE), MAX_PER_PAGE)
