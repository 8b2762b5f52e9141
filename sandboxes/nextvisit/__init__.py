"""The Nextvisit simulator: its API over HTTP, rendering the synthetic clinic."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from gateway.contract import Sandbox

if TYPE_CHECKING:
    from sandboxes.clinic import Clinic

EMAIL = "gateway@demo.nextvisit.test"


def create_sandbox(clinic: Clinic | None = None, **switches: Any) -> Sandbox:
    """The simulator over `clinic` (the synthetic one by default), with fresh credentials;
    `switches` choose its readings of what the docs leave open (see its app module). Its
    tenant's options are what an operator sets for such a deployment: the zone of its local
    times under ``datetimes="local"``, its request limit under ``rate_limit`` (the docs name
    none; the vendor's answers say it, ``X-RateLimit-Limit``)."""
    from sandboxes.clinic import build_clinic
    from sandboxes.nextvisit.app import create_app
    from sandboxes.nextvisit.wire import LOCAL_ZONE

    password = secrets.token_urlsafe(18)
    app = create_app(clinic or build_clinic(), email=EMAIL, password=password, **switches)
    options: dict[str, Any] = {"vendor_timezone": LOCAL_ZONE.key} if switches.get("datetimes") == "local" else {}
    if switches.get("rate_limit") is not None:
        options[f"rate_per_{switches.get('rate_window', 'minute')}"] = switches["rate_limit"]
    return Sandbox(app=app, base_path="", options=lambda root: options, secrets={"email": EMAIL, "password": password})
