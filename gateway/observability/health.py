"""Probes, as Kubernetes uses them (https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/):
`/livez` answers while the event loop does; `/readyz` answers 200 when every tenant that
counts for readiness can reach its vendor, 503 naming those that cannot.

A tenant is usable when its circuit breaker is not open, an OAuth tenant holds a grant and
its last token renewal did not fail, and its vendor answered a call within
`readiness_window` seconds, or, without recent calls, accepts a connection (a probe that
costs the vendor nothing, its answer kept as long as the window). With Redis shared state,
Redis must answer too; and the audit trail must be writable (gateway.audit.health), since a
gateway that cannot write it refuses every FHIR request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from gateway.audit.health import AuditHealth
from gateway.observability.figures import Figures
from gateway.shared import SharedState, SharedStateUnavailable
from gateway.shared.eviction import eviction_warning

Probe = Callable[[str], Awaitable[bool]]
PROBE_TIMEOUT = 1.0  # seconds: Kubernetes' default probe timeout is 1 s, so a probe must be quicker
_FAILED_PROBE_KEPT = 2.0  # seconds a failed probe is believed: a recovered vendor is noticed soon


async def connect_probe(base_url: str) -> bool:
    """Whether the vendor's host accepts a TCP connection (nothing is sent)."""
    parts = urlsplit(base_url)
    if not parts.hostname:
        return False
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(parts.hostname, port), PROBE_TIMEOUT)
    except (OSError, TimeoutError):
        return False
    writer.close()
    return True


@dataclass
class Watched:
    """A tenant's vendor connection, as readiness sees it."""

    tenant: str
    vendor: str
    base_url: str
    required: bool = True
    # OAuth tenants: whether a grant (refresh token) is stored for the tenant.
    has_grant: Callable[[], Awaitable[bool]] | None = None
    _probed: tuple[float, bool] | None = field(default=None, repr=False)
    _granted: tuple[float, bool] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class TenantReadiness:
    tenant: str
    ready: bool
    required: bool
    reason: str | None  # why not ready (never a vendor message: those can quote data)
    breaker: str
    oauth: str | None  # "connected", "not connected", "renewal failed"; None: not an OAuth tenant
    last_vendor_answer_seconds: float | None  # how long ago the vendor last answered

    def as_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "required": self.required,
            "reason": self.reason,
            "breaker": self.breaker,
            "oauth": self.oauth,
            "last_vendor_answer_seconds": (
                None if self.last_vendor_answer_seconds is None else round(self.last_vendor_answer_seconds, 1)
            ),
        }


@dataclass(frozen=True)
class Report:
    ready: bool
    tenants: dict[str, TenantReadiness]
    shared_state: dict[str, Any]
    audit: dict[str, Any] = field(default_factory=lambda: {"ready": True})

    def as_json(self) -> dict[str, Any]:
        down = sorted(name for name, t in self.tenants.items() if not t.ready)
        return {
            "status": "ready" if self.ready else "not ready",
            "down": down,
            "tenants": {name: t.as_json() for name, t in sorted(self.tenants.items())},
            "shared_state": self.shared_state,
            "audit": self.audit,
        }


REPORT_KEPT = 1.0  # seconds a readiness report answers every probe and status page


class Readiness:
    def __init__(self, figures: Figures, window: float, probe: Probe | None = None) -> None:
        self.figures = figures
        self.window = window
        self._probe = probe
        self.watched: dict[str, Watched] = {}
        self._last: tuple[float, Report] | None = None
        self._running: asyncio.Future[Report] | None = None
        # Whether audit lines are being written; set where the audit middleware is composed
        # (None where FHIR requests are not audited, or audit.fail_open serves them anyway).
        self.audit: AuditHealth | None = None

    def watch(self, watched: Watched) -> None:
        self.watched[watched.tenant] = watched

    async def report(self, shared: SharedState | None) -> Report:
        """The readiness now, computed at most once per REPORT_KEPT seconds however many ask:
        the probes and the endpoints are public, and must not become a way to make the gateway
        open connections to vendors (or Redis) at a client's pace."""
        now = time.monotonic()
        if self._last is not None and now - self._last[0] < REPORT_KEPT:
            return self._last[1]
        if self._running is None:
            self._running = asyncio.ensure_future(self._compute(shared))
            self._running.add_done_callback(self._computed)
        return await asyncio.shield(self._running)

    def _computed(self, running: asyncio.Future[Report]) -> None:
        self._running = None
        if not running.cancelled() and running.exception() is None:
            self._last = (time.monotonic(), running.result())

    async def _compute(self, shared: SharedState | None) -> Report:
        tenants = await asyncio.gather(*(self._tenant(w) for w in self.watched.values()))
        state = await _shared_state(shared)
        audit: dict[str, Any] = {"ready": True}
        if self.audit is not None and self.audit.failing(self.window):
            audit = {"ready": False, "reason": "the audit trail cannot be written: FHIR requests are refused"}
        ready = all(t.ready for t in tenants if t.required) and state.get("ready", True) and audit["ready"]
        return Report(ready, {t.tenant: t for t in tenants}, state, audit)

    async def _tenant(self, watched: Watched) -> TenantReadiness:
        figures = self.figures.tenant(watched.tenant)
        now = self.figures.clock()
        ago = None if figures.last_ok is None else now - figures.last_ok
        oauth = None
        reason: str | None = None
        if watched.has_grant is not None:
            if not await self._granted(watched, now):
                oauth, reason = "not connected", "not connected to the vendor: run `fhir-gateway connect` for it"
            elif figures.renewal_failed:
                oauth, reason = "renewal failed", "its last vendor token renewal failed"
            else:
                oauth = "connected"
        if reason is None and figures.breaker == "open":
            reason = "the circuit breaker is open: the vendor's recent calls failed"
        if reason is None and (ago is None or ago > self.window) and not await self._reachable(watched, now):
            reason = "the vendor's host does not accept connections"
        return TenantReadiness(watched.tenant, reason is None, watched.required, reason, figures.breaker, oauth, ago)

    async def _reachable(self, watched: Watched, now: float) -> bool:
        if watched._probed is not None:
            at, ok = watched._probed
            if now - at < (self.window if ok else _FAILED_PROBE_KEPT):
                return ok
        ok = await (self._probe or connect_probe)(watched.base_url)
        watched._probed = (now, ok)
        return ok

    async def _granted(self, watched: Watched, now: float) -> bool:
        assert watched.has_grant is not None
        if watched._granted is not None and now - watched._granted[0] < self.window and watched._granted[1]:
            return True
        try:
            ok = await watched.has_grant()
        except Exception:  # an unreadable store is no grant: the operator reconnects
            ok = False
        watched._granted = (now, ok)
        return ok


async def _shared_state(shared: SharedState | None) -> dict[str, Any]:
    if shared is None or shared.kind == "in-process":
        return {"kind": "in-process"}
    started = time.perf_counter()
    try:
        await asyncio.wait_for(shared.ping(), PROBE_TIMEOUT)
    except (SharedStateUnavailable, TimeoutError, OSError):
        return {"kind": shared.kind, "ready": False, "reason": f"{shared.kind} does not answer"}
    answer: dict[str, Any] = {
        "kind": shared.kind,
        "ready": True,
        "ping_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    if (warning := await eviction_warning(shared)) is not None:
        answer["warning"] = warning  # ready all the same: it serves, at a risk the operator should know
    return answer
