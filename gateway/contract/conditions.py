"""The `If-None-Exist` of the conditional create in flight, for a provider's create to read.

R4 http.html#ccreate: the server creates only when the condition selects nothing. The gateway
checks that itself over the type's search (gateway.rest.write), but only the provider knows
whether the record it makes will meet the condition as the vendor stores it: a vendor may drop
an identifier it was sent without a word. Told the condition, a provider can refuse a create
whose record the same request, sent again, would not find (a second record each time), instead
of making it and only warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.search.model import SearchQuery

__all__ = ["create_condition", "creating_under"]

_CONDITION: ContextVar[SearchQuery | None] = ContextVar("fhir_gateway_create_condition", default=None)


def create_condition() -> SearchQuery | None:
    """The `If-None-Exist` search of the create in flight; None for a plain create."""
    return _CONDITION.get()


@contextmanager
def creating_under(condition: SearchQuery | None) -> Iterator[None]:
    """A create run with `condition` (None: none) as its `If-None-Exist`."""
    token = _CONDITION.set(condition)
    try:
        yield
    finally:
        _CONDITION.reset(token)
