"""Dental PMS (practice management): patients, allergies, medications, vital signs."""

from __future__ import annotations

import secrets

from mappings.base import Adapter, AdapterConfig, Sandbox, Vendor


def create_adapter(config: AdapterConfig) -> Adapter:
    from mappings.dentalpms.adapter import DentalPmsAdapter

    return DentalPmsAdapter(config)


def create_sandbox() -> Sandbox:
    from mappings.dentalpms.sandbox import create_app
    from mappings.sandbox.clinic import build_clinic

    org_id, token = "demo-org", secrets.token_urlsafe(24)
    app = create_app(build_clinic(), org_id=org_id, api_token=token)
    return Sandbox(app=app, base_path="/api/v1", options={"org_id": org_id}, secrets={"api_token": token})


VENDOR = Vendor(name="dentalpms", create_adapter=create_adapter, create_sandbox=create_sandbox)
