"""The NexHealth Synchronizer simulator: its API over HTTP, rendering the synthetic clinic."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from gateway.contract import Sandbox

if TYPE_CHECKING:
    from sandboxes.clinic import Clinic

SUBDOMAIN = "demo-dental"
LOCATION = 101  # the first of the institution's two locations


def create_sandbox(clinic: Clinic | None = None, **switches: Any) -> Sandbox:
    """The simulator over `clinic` (the synthetic one by default), with fresh credentials;
    `switches` choose its readings of what the docs leave open (see its app module)."""
    from sandboxes.clinic import build_clinic
    from sandboxes.nexhealth.app import create_app

    api_key = secrets.token_urlsafe(24)
    app = create_app(clinic or build_clinic(), api_key=api_key, subdomain=SUBDOMAIN, **switches)
    return Sandbox(
        app=app,
        base_path="",
        options=lambda root: {"subdomain": SUBDOMAIN, "location_id": LOCATION, "location_strict": False},
        secrets={"api_key": api_key},
    )
