"""The Nextech simulator: its API and its OAuth2 authorization server over HTTP."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from gateway.contract import Sandbox

if TYPE_CHECKING:
    from sandboxes.clinic import Clinic

CLIENT_ID = "c6eef4c1-62a2-4f3f-88a6-8679639da10a"
PRACTICE = "demo-practice"


def create_sandbox(clinic: Clinic | None = None, **switches: Any) -> Sandbox:
    """The simulator over `clinic` (the synthetic one by default), with fresh credentials;
    `switches` choose its readings of what the docs leave open (see its app module)."""
    from sandboxes.clinic import build_clinic
    from sandboxes.nextech.app import OAUTH_PATHS, create_app

    secret = secrets.token_urlsafe(24)
    authorize, token = OAUTH_PATHS[switches.get("oauth_paths", "azure")]
    app = create_app(
        clinic or build_clinic(), client_id=CLIENT_ID, client_secret=secret, practice_id=PRACTICE, **switches
    )
    return Sandbox(
        app=app,
        base_path="/api",
        # The sandbox is its own authorization server, at the root it is served on: Azure AD's
        # paths under oauth_base_url, other paths as the two URLs.
        options=lambda root: {
            "client_id": CLIENT_ID,
            "practice_id": PRACTICE,
            **(
                {"oauth_base_url": root}
                if (authorize, token) == OAUTH_PATHS["azure"]
                else {"authorize_url": root + authorize, "token_url": root + token}
            ),
        },
        secrets={"client_secret": secret},
    )
