"""The NexHealth Synchronizer simulator: its API over HTTP, rendering the synthetic clinic."""

from __future__ import annotations

import secrets

from gateway.contract import Sandbox

SUBDOMAIN = "demo-dental"
LOCATION = 101  # the first of the institution's two locations


def create_sandbox() -> Sandbox:
    from sandboxes.clinic import build_clinic
    from sandboxes.nexhealth.app import create_app

    api_key = secrets.token_urlsafe(24)
    app = create_app(build_clinic(), api_key=api_key, subdomain=SUBDOMAIN)
    return Sandbox(
        app=app,
        base_path="",
        options=lambda root: {"subdomain": SUBDOMAIN, "location_id": LOCATION, "location_strict": False},
        secrets={"api_key": api_key},
    )
