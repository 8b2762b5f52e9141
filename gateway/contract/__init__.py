"""The adapter contract: what the gateway asks of a vendor, and what a vendor declares it can do.

Vendors (`mappings/`) import from here; the gateway never imports a vendor. See
docs/architecture.md for the request path and how to add a vendor.
"""

from gateway.contract.conditions import create_condition, creating_under
from gateway.contract.declarations import (
    ALL_PREFIXES,
    STRING_MODIFIERS,
    Interaction,
    Pushdown,
    ResourceDeclaration,
    ResourceSupport,
    SearchParamSupport,
)
from gateway.contract.drift import Drift, DriftKey, VendorModel
from gateway.contract.oauth import OAuthApp
from gateway.contract.provider import (
    Resource,
    ResourceProvider,
    SearchRequest,
    VendorPage,
    Written,
    by_type,
    read_from,
)
from gateway.contract.vendor import (
    Adapter,
    AdapterConfig,
    NoOptions,
    Sandbox,
    SandboxFactory,
    TenantContext,
    Vendor,
    VendorOptions,
)

__all__ = [
    "ALL_PREFIXES",
    "STRING_MODIFIERS",
    "Adapter",
    "AdapterConfig",
    "Drift",
    "DriftKey",
    "Interaction",
    "NoOptions",
    "OAuthApp",
    "Pushdown",
    "Resource",
    "ResourceDeclaration",
    "ResourceProvider",
    "ResourceSupport",
    "Sandbox",
    "SandboxFactory",
    "SearchParamSupport",
    "SearchRequest",
    "TenantContext",
    "Vendor",
    "VendorModel",
    "VendorOptions",
    "VendorPage",
    "Written",
    "by_type",
    "create_condition",
    "creating_under",
    "read_from",
]
