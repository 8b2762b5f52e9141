"""Python's garbage collector while gateways run in this process, as they all need it.

What start-up built lives as long as the process: frozen out of the collector's way
(https://docs.python.org/3/library/gc.html#gc.freeze), so that its full collections walk only
what requests create (a CCD spent a tenth of its time there). No collection first: start-up
leaves no cyclic garbage (measured), and one would cost every start.

The youngest generation is collected after 20,000 surviving allocations, not 700 (the default,
https://docs.python.org/3/library/gc.html#gc.set_threshold). A request allocates tens of
thousands (a page of Observations, a CCD's sources): at 700, with 32 requests in flight, the
collector walked the live objects of each several times over, and each collection of the
second generation cost a millisecond and more. Measured in process: 8-10 % of an Observation
page's and a CCD's CPU, nothing to a read. Garbage in cycles waits longer for it; what makes
such garbage on every request is kept out of the hot paths (an error shared by several callers
is raised to each as its own).

Gateways can start and stop in any order in one process (tests do): the settings are made when
the first starts and undone when the last stops.
"""

from __future__ import annotations

import gc
import threading

YOUNG_COLLECTION_AFTER = 20_000  # allocations less deallocations (gc.set_threshold's threshold0)

_lock = threading.Lock()
_running = 0
_before: tuple[int, int, int] = gc.get_threshold()


def gateway_started() -> None:
    """A gateway has built what it lives on: freeze it, and collect the young less often."""
    global _running, _before
    with _lock:
        if _running == 0:
            _before = gc.get_threshold()
            gc.set_threshold(YOUNG_COLLECTION_AFTER, *_before[1:])
        _running += 1
        gc.freeze()


def gateway_stopped() -> None:
    """A gateway stopped; after the last one, the collector is as it was before the first."""
    global _running
    with _lock:
        _running -= 1
        if _running == 0:
            gc.set_threshold(*_before)
            gc.unfreeze()  # collectable again (tests start and stop many gateways)
