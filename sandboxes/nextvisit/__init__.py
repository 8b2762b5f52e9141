"""The Nextvisit simulator: its API over HTTP, rendering the synthetic clinic."""

from __future__ import annotations

import secrets

from gateway.contract import Sandbox

EMAIL = "gateway@demo.nextvisit.test"


def create_sandbox() -> Sandbox:
    from sandboxes.clinic import build_clinic
    from sandboxes.nextvisit.app import create_app

    password = secrets.token_urlsafe(18)
    app = create_app(build_clinic(), email=EMAIL, password=password)
    return Sandbox(app=app, base_path="", options=lambda root: {}, secrets={"email": EMAIL, "password": password})
