"""Nextvisit's error bodies, Laravel's: ``{"message": ...}`` (422s add ``"errors"``).

Every response, error or not, is JSON whatever ``Accept`` says and carries
``Cache-Control: no-cache, private``. Routing failures come before authentication: an
unknown route is 404 ``The route v1/... could not be found.``; a wrong method is 405
``The PUT method is not supported for route v1/... Supported methods: GET, HEAD.``
(``Allow`` lists the same methods). An unknown, non-numeric or soft-deleted patient id is
404 ``No query results for model [App\\Models\\Patient] <id as given>`` (Eloquent's
``ModelNotFoundException``).
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from sandboxes.nextvisit.php_json import php_json
from sandboxes.toolkit.errors import ApiError

__all__ = ["patient_not_found", "render_api_error", "render_http_error", "respond"]

#: Laravel lists a route's methods in this order.
_METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def respond(status: int, body: bytes) -> Response:
    """A JSON response with the headers every Nextvisit response carries."""
    return Response(body, status_code=status, media_type="application/json",
                    headers={"Cache-Control": "no-cache, private"})  # fmt: skip


def patient_not_found(raw_id: str) -> ApiError:
    """The 404 for patient id `raw_id` (as given in the path)."""
    return ApiError(404, {"message": f"No query results for model [App\\Models\\Patient] {raw_id}"})


def render_api_error(error: ApiError) -> Response:
    """The error's body (``detail`` is the whole JSON object) as PHP encodes it."""
    return respond(error.status, php_json(error.detail))


def _route_path(request: Request) -> str:
    path: str = request.scope["path"]
    root: str = request.scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.strip("/")


def render_http_error(request: Request, exc: HTTPException) -> Response:
    """Laravel's 404 for an unknown route and 405 for a wrong method."""
    if exc.status_code == 405:
        allowed = {method.strip() for method in (exc.headers or {}).get("Allow", "").split(",") if method.strip()}
        methods = ", ".join(method for method in _METHOD_ORDER if method in allowed)
        message = (f"The {request.method} method is not supported for route {_route_path(request)}. "
                   f"Supported methods: {methods}.")  # fmt: skip
        headers = {"Allow": methods, "Cache-Control": "no-cache, private"}
        return Response(php_json({"message": message}), 405, headers, "application/json")
    message = f"The route {_route_path(request)} could not be found." if exc.status_code == 404 else exc.detail
    return respond(exc.status_code, php_json({"message": message}))
