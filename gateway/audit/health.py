"""Whether the audit trail is being written, for readiness.

A gateway that cannot write its audit lines refuses every FHIR request (503) unless
`audit.fail_open`: a load balancer must take it out of rotation, so `/readyz` says so. With no
request, nothing tells when the sink is writable again: a failure counts for `window` seconds
after it, then the gateway is tried again (a request that fails again marks it again).
"""

from __future__ import annotations

import time
from collections.abc import Callable


class AuditHealth:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failed_at: float | None = None

    def written(self) -> None:
        self._failed_at = None

    def failed(self) -> None:
        self._failed_at = self._clock()

    def failing(self, window: float) -> bool:
        """Whether the last line failed, within the last `window` seconds."""
        return self._failed_at is not None and self._clock() - self._failed_at < window
