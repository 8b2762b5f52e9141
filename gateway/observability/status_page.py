"""The status page at `/`: HTML for a browser (Accept: text/html), JSON otherwise.

For each tenant: its vendor, FHIR base URL, readiness, breaker state and, for clients that
may read /metrics (gateway.observability.access), the recent error rate and p95 latency,
rate-limit waits and refusals, and its OAuth connection (when it last renewed; never a
token). Sandbox tenants get example requests a newcomer can click.

Plain server-rendered HTML: every value escaped, no script, no external resource, and a
Content-Security-Policy that allows inline styles only (https://www.w3.org/TR/CSP3/).
"""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from gateway.observability.figures import RECENT_SECONDS, Figures, TenantFigures
from gateway.observability.health import Report, TenantReadiness
from gateway.rest.context import RestState, base_url
from gateway.settings import TenantSettings
from gateway.version import SOFTWARE_VERSION

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Example requests for sandbox tenants (synthetic data, safe to click); every demo vendor can
# answer them (Nextech searches patients by name or chart number only).
EXAMPLES = ("Patient?family=smith&_count=5", "Patient?name=ann&_count=5", "Patient?family=smith&_summary=count")


@dataclass(frozen=True)
class TenantStatus:
    name: str
    vendor: str
    base: str  # the tenant's FHIR base URL
    sandbox: bool
    readiness: TenantReadiness | None
    figures: dict[str, Any] | None  # None: the client may not read them

    def as_json(self) -> dict[str, Any]:
        readiness = self.readiness.as_json() if self.readiness else None
        return {
            "vendor": self.vendor,
            "fhir_base_url": self.base,
            "metadata": f"{self.base}/metadata",
            "readiness": readiness,
            "recent": self.figures,
        }


def recent_figures(figures: TenantFigures) -> dict[str, Any]:
    requests, vendor = figures.requests.summary(), figures.vendor.summary()
    return {
        "window_seconds": RECENT_SECONDS,
        "requests": requests.count,
        "error_rate": requests.error_rate,
        "p95_seconds": requests.p95_seconds,
        "vendor_calls": vendor.count,
        "vendor_error_rate": vendor.error_rate,
        "vendor_p95_seconds": vendor.p95_seconds,
        "rate_limit_waits": figures.rate_limit_waits.recent(),
        "rate_limit_refusals": figures.rate_limit_refusals.recent(),
        "vendor_throttled": figures.vendor_throttled.recent(),
        "last_token_renewal": (
            None
            if figures.last_renewal is None
            else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(figures.last_renewal))
        ),
    }


def tenant_statuses(
    request: Request,
    tenants: Mapping[str, TenantSettings],
    report: Report,
    figures: Figures,
    detailed: bool,
) -> list[TenantStatus]:
    rest: RestState = request.app.state.rest
    return [
        TenantStatus(
            name,
            conf.vendor,
            base_url(request, name),
            conf.sandbox,
            report.tenants.get(name),
            recent_figures(figures.tenant(name)) if detailed else None,
        )
        for name, conf in tenants.items()
        if name in rest.tenants
    ]


def status_response(request: Request, statuses: list[TenantStatus], report: Report) -> Response:
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(render(statuses, report), headers=PAGE_HEADERS)
    return JSONResponse(
        {
            "service": "fhir-gateway",
            "version": SOFTWARE_VERSION,
            "ready": report.ready,
            # name → metadata URL: the shape `/` has always answered
            "tenants": {s.name: f"{s.base}/metadata" for s in statuses},
            "status": {s.name: s.as_json() for s in statuses},
        },
        headers={"Cache-Control": "no-store"},
    )


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d2430}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #d8dde5;
vertical-align:top}th{background:#f1f4f8;font-weight:600}.ok{color:#116b2f;font-weight:600}
.down{color:#a11d1d;font-weight:600}.muted{color:#667085}code{font-size:.9em}ul{padding-left:1.2rem}
""".strip()


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.0f} ms"


def _row(status: TenantStatus) -> str:
    readiness = status.readiness
    if readiness is None:
        ready = '<span class="muted">unknown</span>'
    elif readiness.ready:
        ready = '<span class="ok">ready</span>'
    else:
        ready = f'<span class="down">down</span><br><span class="muted">{_e(readiness.reason)}</span>'
    breaker = _e(readiness.breaker) if readiness else "—"
    oauth = _e(readiness.oauth) if readiness and readiness.oauth else '<span class="muted">n/a</span>'
    figures = status.figures
    if figures is None:
        recent = '<td colspan="3" class="muted">shown to clients allowed to read /metrics</td>'
    else:
        if readiness is not None and readiness.oauth is not None:
            oauth += f'<br><span class="muted">renewed {_e(figures["last_token_renewal"] or "not yet")}</span>'
        recent = (
            f"<td>{_ratio(figures['error_rate'])} of {figures['requests']} requests<br>"
            f'<span class="muted">{_ratio(figures["vendor_error_rate"])} '
            f"of {figures['vendor_calls']} vendor calls</span></td>"
            f"<td>{_ms(figures['p95_seconds'])}<br>"
            f'<span class="muted">vendor {_ms(figures["vendor_p95_seconds"])}</span></td>'
            f"<td>{figures['rate_limit_waits']} waits, {figures['rate_limit_refusals']} refused, "
            f"{figures['vendor_throttled']} vendor 429s</td>"
        )
    metadata = f"{status.base}/metadata"
    return (
        f'<tr id="tenant-{_e(status.name)}"><td><strong>{_e(status.name)}</strong></td><td>{_e(status.vendor)}</td>'
        f"<td><code>{_e(status.base)}</code><br>"
        f'<a href="{_e(metadata)}">metadata</a></td>'
        f"<td>{ready}</td><td>{breaker}</td>{recent}<td>{oauth}</td></tr>"
    )


def render(statuses: list[TenantStatus], report: Report) -> str:
    rows = "\n".join(_row(s) for s in statuses)
    overall = '<span class="ok">ready</span>' if report.ready else '<span class="down">not ready</span>'
    shared = report.shared_state
    shared_text = _e(shared.get("kind", "in-process"))
    if "ready" in shared:
        shared_text += " — " + ("answering" if shared["ready"] else "<span class='down'>not answering</span>")
    examples = [
        f'<li><a href="{_e(s.base)}/{_e(path)}">{_e(s.name)}: {_e(path)}</a></li>'
        for s in statuses
        if s.sandbox
        for path in EXAMPLES
    ]
    example_section = "<h2>Try it (synthetic demo data)</h2><ul>" + "\n".join(examples) + "</ul>" if examples else ""
    minutes = int(RECENT_SECONDS // 60)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>fhir-gateway {_e(SOFTWARE_VERSION)}</title><style>{_STYLE}</style></head>
<body>
<h1>fhir-gateway <span class="muted">{_e(SOFTWARE_VERSION)}</span></h1>
<p>A FHIR R4 facade: each tenant below is served at its FHIR base URL. Gateway: {overall};
shared state: {shared_text}. Probes: <a href="/livez">/livez</a>, <a href="/readyz">/readyz</a>;
metrics: <a href="/metrics">/metrics</a>.</p>
<table>
<thead><tr><th>tenant</th><th>vendor</th><th>FHIR base URL</th><th>readiness</th><th>breaker</th>
<th>errors ({minutes} min)</th><th>p95 latency</th><th>rate limit ({minutes} min)</th><th>OAuth</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
{example_section}
</body></html>
"""
