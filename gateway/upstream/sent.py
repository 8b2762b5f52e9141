"""How many requests the work in a context has sent to vendors.

A FHIR search page is bounded by what it costs the vendor, and one provider call may send
several requests (a walk that keeps runs of equal values whole, a liveness check, a token
renewal). Each attempt sent is counted here, retries included; a read shared within the request
(gateway.upstream.coalesce) or answered from the response cache sends nothing and counts nothing.
Tasks started inside the block copy the context, so their requests count too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class Sent:
    __slots__ = ("requests",)

    def __init__(self) -> None:
        self.requests = 0


_SENT: ContextVar[Sent | None] = ContextVar("fhir_gateway_vendor_requests_sent", default=None)


@contextmanager
def counting() -> Iterator[Sent]:
    """Count the vendor requests sent inside the block (an enclosing count stops meanwhile)."""
    sent = Sent()
    token = _SENT.set(sent)
    try:
        yield sent
    finally:
        _SENT.reset(token)


def one_sent() -> None:
    sent = _SENT.get()
    if sent is not None:
        sent.requests += 1
