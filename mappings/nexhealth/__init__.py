"""NexHealth Synchronizer: patients (OR-semantics search, duplicate-guarded create), appointments."""

from __future__ import annotations

import secrets

from mappings.base import Adapter, AdapterConfig, Sandbox, Vendor

DEMO_SUBDOMAIN = "demo-dental"
DEMO_LOCATION = 101


def create_adapter(config: AdapterConfig) -> Adapter:
    from mappings.nexhealth.adapter import NexHealthAdapter

    return NexHealthAdapter(config)


def create_sandbox() -> Sandbox:
    from mappings.nexhealth.sandbox import create_app
    from mappings.sandbox.clinic import build_clinic

    api_key = secrets.token_urlsafe(24)
    app = create_app(build_clinic(), api_key=api_key, subdomain=DEMO_SUBDOMAIN)
    return Sandbox(
        app=app,
        base_path="",
        options={"subdomain": DEMO_SUBDOMAIN, "location_id": DEMO_LOCATION, "location_strict": False},
        secrets={"api_key": api_key},
    )


VENDOR = Vendor(name="nexhealth", create_adapter=create_adapter, create_sandbox=create_sandbox)
