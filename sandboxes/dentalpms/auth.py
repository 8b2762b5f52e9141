"""The checks before every API endpoint: bearer token (401), then organisation (404).

The API reference authenticates with ``Authorization: Bearer <API token>``. Both 401s
carry ``WWW-Authenticate: Bearer`` (FastAPI's ``HTTPBearer`` wording): no header (or
an empty scheme) is ``Not authenticated``; another scheme or a wrong token is ``Invalid
authentication credentials``. A good token for another ``{org_id}`` is 404
``Organization not found``. Refusals raised by the endpoint become ``{"detail": ...}``.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.dentalpms.errors import render_api_error
from sandboxes.dentalpms.responses import json_response
from sandboxes.toolkit.aliases import Handler
from sandboxes.toolkit.auth import bearer_credentials
from sandboxes.toolkit.errors import catch_api_errors

__all__ = ["Authenticator"]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class Authenticator:
    """Wraps endpoints in the token and organisation checks of one app."""

    def __init__(self, *, org_id: str, api_token: str) -> None:
        self.org_id = org_id
        self.token = api_token.encode()

    def __call__(self, handler: Handler) -> Handler:
        answer = catch_api_errors(handler, render_api_error)

        async def checked(request: Request) -> Response:
            authorization = request.headers.get("authorization", "")
            if not authorization.partition(" ")[0]:
                return json_response(401, {"detail": "Not authenticated"}, _CHALLENGE)
            credentials = bearer_credentials(authorization)
            if credentials is None or not hmac.compare_digest(credentials.encode(), self.token):
                return json_response(401, {"detail": "Invalid authentication credentials"}, _CHALLENGE)
            if request.path_params.get("org_id") != self.org_id:
                return json_response(404, {"detail": "Organization not found"})
            return await answer(request)

        return checked
