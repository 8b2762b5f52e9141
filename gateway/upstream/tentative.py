"""Vendor calls whose failure may be the vendor's reading of the request, not its health.

An adapter asking something the docs leave open (an open-ended window to the calendar's end,
which one implementation refuses with a 400, another fails on with a 500 when its `end` plus a
day overflows) makes that call `tentative()`: it is tried once, not retried, and its failure
is not held against the vendor by the circuit breaker. Otherwise a vendor failing only on the
far date would look down, and the breaker would refuse the tenant's every request for a
while. The adapter then asks what the vendor answers (a nearer horizon), normally.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_TENTATIVE: ContextVar[bool] = ContextVar("tentative_vendor_calls", default=False)


@contextmanager
def tentative() -> Iterator[None]:
    """The vendor calls made inside (and in tasks started inside) are tentative."""
    marked = _TENTATIVE.set(True)
    try:
        yield
    finally:
        _TENTATIVE.reset(marked)


def is_tentative() -> bool:
    return _TENTATIVE.get()
