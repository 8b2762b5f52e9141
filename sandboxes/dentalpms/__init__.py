"""The Dental PMS simulator: its API over HTTP, rendering the synthetic clinic."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from gateway.contract import Sandbox

if TYPE_CHECKING:
    from sandboxes.clinic import Clinic

ORG_ID = "demo-org"


def create_sandbox(clinic: Clinic | None = None, **switches: Any) -> Sandbox:
    """The simulator over `clinic` (the synthetic one by default), with a fresh token;
    `switches` choose its readings of what the docs leave open (see its app module)."""
    from sandboxes.clinic import build_clinic
    from sandboxes.dentalpms.app import create_app

    token = secrets.token_urlsafe(24)
    app = create_app(clinic or build_clinic(), org_id=ORG_ID, api_token=token, **switches)
    return Sandbox(app=app, base_path="/api/v1", options=lambda root: {"org_id": ORG_ID}, secrets={"api_token": token})
