"""What an operator sees of the running gateway: Prometheus metrics (`/metrics`), probes
(`/livez`, `/readyz`), structured logs, OpenTelemetry traces and the status page (`/`).

The upstream code reports vendor-connection events through `gateway.upstream.observe`; the
`GatewayObserver` here turns them into metrics, spans and the recent per-tenant figures the
probes and the status page read. `Observability` is what one app holds of all this.
"""

from gateway.observability.composition import Observability

__all__ = ["Observability"]
