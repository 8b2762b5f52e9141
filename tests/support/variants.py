"""A gateway over one simulator playing a chosen reading of its vendor's docs.

The simulators have a switch for each point their docs leave open; tests run the gateway over
each reading, over real HTTP, as the demo does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.app import create_app
from gateway.contract import Sandbox
from gateway.sandbox_host import serve_in_thread
from gateway.settings import Settings, TenantSettings
from mappings.registry import VENDORS
from tests.support.fhir_http import FhirHttp


@dataclass(frozen=True)
class VariantGateway:
    url: str
    fhir: FhirHttp  # checks every resource it receives against the standards
    sandbox: Sandbox  # the simulator the tenant is served by (its app counts vendor calls, ...)


@contextmanager
def gateway_over(
    vendor: str, create_sandbox: Callable[[], Sandbox], *, tenant: str | None = None, **settings: Any
) -> Iterator[VariantGateway]:
    """The gateway with one sandbox tenant (`tenant`, default the vendor's name) of `vendor`,
    served by the simulator `create_sandbox` makes; `settings` are further tenant settings."""
    made: list[Sandbox] = []

    def factory() -> Sandbox:
        made.append(create_sandbox())
        return made[-1]

    conf = TenantSettings(vendor=vendor, sandbox=True, **{"timezone": "America/Chicago", **settings})
    app = create_app(Settings(tenants={tenant or vendor: conf}), VENDORS, {vendor: factory}, access_logging=False)
    running = serve_in_thread(app, name=f"gateway-over-{vendor}", date_header=False)
    fhir = FhirHttp(running.url)
    try:
        yield VariantGateway(running.url, fhir, made[0])
    finally:
        fhir.close()
        running.stop()


def vendor_calls(fhir: FhirHttp, tenant: str, counted: Callable[[dict[str, str]], bool] | None = None) -> float:
    """The vendor calls the gateway has sent for `tenant` so far (its /metrics), those whose
    labels (`method`, `endpoint`, `outcome`) `counted` accepts when given."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(fhir.get("/metrics").text)
        for sample in family.samples
        if sample.name == "fhir_gateway_vendor_calls_total"
        and sample.labels.get("tenant") == tenant
        and (counted is None or counted(sample.labels))
    )
