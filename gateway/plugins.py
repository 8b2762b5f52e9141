"""The vendors and simulators installed beside the gateway, found through entry points.

The gateway never imports a vendor package: a package that provides vendors declares an entry
point in the `fhir_gateway.vendors` group naming a `Vendor` or a sequence of them (this repo's
`mappings.registry:VENDORS`), and one that provides simulators declares `fhir_gateway.sandboxes`,
naming a mapping of vendor name to sandbox factory. The production image installs no
simulators, so there `sandbox = true` tenants are a configuration error.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib.metadata import entry_points
from typing import Any

from gateway.contract import SandboxFactory, Vendor

VENDOR_GROUP = "fhir_gateway.vendors"
SANDBOX_GROUP = "fhir_gateway.sandboxes"


def installed_vendors() -> dict[str, Vendor[Any]]:
    found: dict[str, Vendor[Any]] = {}
    for point in entry_points(group=VENDOR_GROUP):
        loaded = point.load()
        for vendor in [loaded] if isinstance(loaded, Vendor) else loaded:
            found[vendor.name] = vendor
    return found


def installed_sandboxes() -> dict[str, SandboxFactory]:
    found: dict[str, SandboxFactory] = {}
    for point in entry_points(group=SANDBOX_GROUP):
        loaded: Mapping[str, SandboxFactory] = point.load()
        found.update(loaded)
    return found


def by_name(vendors: Iterable[Vendor[Any]] | Mapping[str, Vendor[Any]]) -> dict[str, Vendor[Any]]:
    if isinstance(vendors, Mapping):
        return dict(vendors)
    return {vendor.name: vendor for vendor in vendors}
