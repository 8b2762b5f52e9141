"""What happens on vendor connections, as events an operator's tooling can count and trace.

The upstream code (HTTP client, breaker, rate limit, token cache, response cache) reports
events here and knows nothing of metrics or tracing; `gateway.observability` installs an
`Observer` that turns them into Prometheus metrics and OpenTelemetry spans. The default
observer does nothing, so the core and its tests run without either.

Nothing reported here carries a resource id, a query value or a token: a vendor path is
reported as its template (`vendor_path_template`), a connection by its tenant name.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal, Protocol

CacheOutcome = Literal["hit", "miss", "stale"]
ErrorKind = Literal["connect", "timeout", "status", "refused"]


@dataclass
class VendorCall:
    """One vendor call as it ends: set by the client inside `Observer.vendor_call`."""

    tenant: str
    method: str
    path_template: str
    status: int | None = None  # the vendor's HTTP status, when it answered
    error: ErrorKind | None = None  # why it did not (or, for `status`, that it answered >= 500)
    attempt: int = 1


class Observer(Protocol):
    def vendor_call(self, tenant: str, method: str, path_template: str) -> AbstractContextManager[VendorCall]:
        """Around one attempt of one vendor call (a retry is another)."""
        ...

    def retried(self, tenant: str) -> None: ...

    def breaker_state(self, tenant: str, state: str) -> None:
        """The connection's breaker is now `closed`, `open` or `half-open`."""
        ...

    def rate_limit_wait(self, tenant: str, seconds: float) -> None:
        """A call waited its turn under the vendor's rate limit (0 when it did not)."""
        ...

    def rate_limit_refused(self, tenant: str) -> None:
        """A call could not get a turn in time: the client got a 429."""
        ...

    def vendor_throttled(self, tenant: str) -> None:
        """The vendor answered 429."""
        ...

    def token_renewed(self, tenant: str, ok: bool) -> None: ...

    def cache(self, tenant: str, outcome: CacheOutcome) -> None: ...


class NoObserver:
    """The default: nothing is counted or traced."""

    def vendor_call(self, tenant: str, method: str, path_template: str) -> AbstractContextManager[VendorCall]:
        return nullcontext(VendorCall(tenant, method, path_template))

    def retried(self, tenant: str) -> None:
        pass

    def breaker_state(self, tenant: str, state: str) -> None:
        pass

    def rate_limit_wait(self, tenant: str, seconds: float) -> None:
        pass

    def rate_limit_refused(self, tenant: str) -> None:
        pass

    def vendor_throttled(self, tenant: str) -> None:
        pass

    def token_renewed(self, tenant: str, ok: bool) -> None:
        pass

    def cache(self, tenant: str, outcome: CacheOutcome) -> None:
        pass


_current: Observer = NoObserver()


def observer() -> Observer:
    return _current


def install(new: Observer) -> Observer:
    """Report to `new` from now on; returns the one it replaces (for tests to put back)."""
    global _current
    previous, _current = _current, new
    return previous


# A path segment that is (or carries) an identifier: digits, a UUID, or a long opaque token.
_ID_SEGMENT = re.compile(r"[^/]*[0-9][^/]*|[0-9a-fA-F-]{32,36}|[A-Za-z0-9_-]{20,}")


def vendor_path_template(path: str) -> str:
    """`/patients/123/allergies` → `/patients/{id}/allergies`: a name for metrics and spans
    that never carries an identifier (chart numbers and ids are PHI-adjacent)."""
    parts = path.split("?", 1)[0].split("/")
    return "/".join("{id}" if part and _ID_SEGMENT.fullmatch(part) else part for part in parts)
