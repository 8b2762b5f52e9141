"""Nextech (practice EHR): OAuth2 with rotating refresh tokens, patients by term, encounter CCDs."""

from __future__ import annotations

import secrets

from mappings.base import Adapter, AdapterConfig, Sandbox, Vendor
from mappings.nextech.client import oauth_app

DEMO_CLIENT_ID = "c6eef4c1-62a2-4f3f-88a6-8679639da10a"
DEMO_PRACTICE = "demo-practice"


def create_adapter(config: AdapterConfig) -> Adapter:
    from mappings.nextech.adapter import NextechAdapter

    return NextechAdapter(config)


def create_sandbox() -> Sandbox:
    from mappings.nextech.sandbox import create_app
    from mappings.sandbox.clinic import build_clinic

    secret = secrets.token_urlsafe(24)
    app = create_app(build_clinic(), client_id=DEMO_CLIENT_ID, client_secret=secret, practice_id=DEMO_PRACTICE)
    return Sandbox(
        app=app,
        base_path="/api",
        options={"client_id": DEMO_CLIENT_ID, "practice_id": DEMO_PRACTICE},
        secrets={"client_secret": secret},
    )


VENDOR = Vendor(name="nextech", create_adapter=create_adapter, create_sandbox=create_sandbox, oauth=oauth_app)
