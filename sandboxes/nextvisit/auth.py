"""The token check before every route but login: Sanctum's ``auth:sanctum`` guard.

``Authorization: Bearer <token>`` (scheme case-insensitive) must name a live token; none,
an unknown or a revoked token is 401 ``{"message": "Unauthenticated."}`` without
``WWW-Authenticate`` (419, Laravel's "Page Expired", or 403 under the ``unauthenticated_status``
reading: an implementation that says so of a token it no longer knows). The endpoint gets
the token's id (logout revokes it); refusals it raises become Laravel error bodies.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.nextvisit.errors import render_api_error, respond
from sandboxes.nextvisit.php_json import php_json
from sandboxes.nextvisit.tokens import PersonalAccessTokens
from sandboxes.toolkit.aliases import Handler
from sandboxes.toolkit.auth import bearer_credentials
from sandboxes.toolkit.errors import catch_api_errors

__all__ = ["Authenticator", "TokenHandler"]

#: An endpoint behind the guard: the request and the id of the token it came with.
TokenHandler = Callable[[Request, int], Awaitable[Response]]

_UNAUTHENTICATED = php_json({"message": "Unauthenticated."})


class Authenticator:
    """Wraps endpoints in the token check against `tokens`."""

    def __init__(self, tokens: PersonalAccessTokens, status: int = 401) -> None:
        self.tokens = tokens
        self.status = status  # 419 or 403 under the ``unauthenticated_status`` reading

    def __call__(self, handler: TokenHandler) -> Handler:
        answer = catch_api_errors(handler, render_api_error)

        async def checked(request: Request) -> Response:
            credentials = bearer_credentials(request.headers.get("authorization", ""))
            token_id = None if credentials is None else self.tokens.find(credentials)
            if token_id is None:
                return respond(self.status, _UNAUTHENTICATED)
            return await answer(request, token_id)

        return checked
