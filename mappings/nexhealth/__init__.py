"""NexHealth Synchronizer: patients (OR-semantics search, duplicate-guarded create), appointments."""

from __future__ import annotations

from gateway.contract import Adapter, AdapterConfig, Vendor
from mappings.nexhealth.options import CREDENTIALS, NexHealthOptions


def create_adapter(config: AdapterConfig[NexHealthOptions]) -> Adapter:
    from mappings.nexhealth.adapter import NexHealthAdapter

    return NexHealthAdapter(config)


VENDOR = Vendor("nexhealth", NexHealthOptions, CREDENTIALS, create_adapter)
