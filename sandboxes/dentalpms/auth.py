"""The checks before every API endpoint: bearer token (401), then organisation (404).

The API reference authenticates with ``Authorization: Bearer <API token>``. Both 401s
carry ``WWW-Authenticate: Bearer`` (FastAPI's ``HTTPBearer`` wording): no header (or
an empty scheme) is ``Not authenticated``; another scheme or a wrong token is ``Invalid
authentication credentials``. A good token for another ``{org_id}`` is 404
``Organization not found``. Refusals raised by the endpoint become ``{"detail": ...}``, a
422 with the app's ``validation_status`` (``errors``).
"""

from __future__ import annotations

import hmac
from functools import partial

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.dentalpms.errors import ValidationStatus, render_api_error
from sandboxes.dentalpms.responses import json_response
from sandboxes.toolkit.aliases import Handler
from sandboxes.toolkit.auth import bearer_credentials
from sandboxes.toolkit.errors import catch_api_errors

__all__ = ["Authenticator"]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class Authenticator:
    """Wraps endpoints in the token and organisation checks of one app."""

    def __init__(self, *, org_id: str, api_token: str, validation_status: ValidationStatus = 422) -> None:
        if validation_status not in (422, 400):
            raise ValueError(f"validation_status must be 422 or 400, not {validation_status!r}")
        self.org_id = org_id
        self.token = api_token.encode()
        self.render = partial(render_api_error, validation_status=validation_status)

    def __call__(self, handler: Handler) -> Handler:
        answer = catch_api_errors(handler, self.render)

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
