"""Nextvisit (clinical documentation): patients with free-text allergies, latest medications, encounters."""

from __future__ import annotations

import secrets

from mappings.base import Adapter, AdapterConfig, Sandbox, Vendor


def create_adapter(config: AdapterConfig) -> Adapter:
    from mappings.nextvisit.adapter import NextvisitAdapter

    return NextvisitAdapter(config)


def create_sandbox() -> Sandbox:
    from mappings.nextvisit.sandbox import create_app
    from mappings.sandbox.clinic import build_clinic

    email, password = "gateway@demo.nextvisit.test", secrets.token_urlsafe(18)
    app = create_app(build_clinic(), email=email, password=password)
    return Sandbox(app=app, base_path="", options={}, secrets={"email": email, "password": password})


VENDOR = Vendor(name="nextvisit", create_adapter=create_adapter, create_sandbox=create_sandbox)
