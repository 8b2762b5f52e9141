"""The Dental PMS simulator: its API over HTTP, rendering the synthetic clinic."""

from __future__ import annotations

import secrets

from gateway.contract import Sandbox

ORG_ID = "demo-org"


def create_sandbox() -> Sandbox:
    from sandboxes.clinic import build_clinic
    from sandboxes.dentalpms.app import create_app

    token = secrets.token_urlsafe(24)
    app = create_app(build_clinic(), org_id=ORG_ID, api_token=token)
    return Sandbox(app=app, base_path="/api/v1", options=lambda root: {"org_id": ORG_ID}, secrets={"api_token": token})
