"""sandboxes.toolkit.errors: ApiError and its response glue, through a real Starlette app."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandboxes.toolkit.errors import ApiError, catch_api_errors, http_exception_handler
from tests.support.asgi import SyncAsgi


def _render(error: ApiError) -> Response:
    return JSONResponse({"problem": error.detail}, error.status)


def _render_http(request: Request, exc: HTTPException) -> Response:
    return JSONResponse({"routing": exc.status_code, "path": request.url.path}, exc.status_code)


async def _refuse(request: Request) -> Response:
    raise ApiError(409, "Version conflict")


async def _fine(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _with_extra_argument(request: Request, token_id: int) -> Response:
    raise ApiError(404, f"token {token_id}")


_guarded_with_token = catch_api_errors(_with_extra_argument, _render)


async def _token_endpoint(request: Request) -> Response:
    return await _guarded_with_token(request, 7)


APP = Starlette(
    routes=[
        Route("/refuse", catch_api_errors(_refuse, _render)),
        Route("/fine", catch_api_errors(_fine, _render), methods=["GET"]),
        Route("/token", _token_endpoint),
    ],
    exception_handlers={HTTPException: http_exception_handler(_render_http)},
)


_call = SyncAsgi(APP, "http://toolkit").request


def test_api_error_carries_status_and_detail() -> None:
    error = ApiError(422, [{"loc": ["query", "page"]}])
    assert (error.status, error.detail) == (422, [{"loc": ["query", "page"]}])


def test_catch_api_errors_renders_the_error() -> None:
    response = _call("GET", "/refuse")
    assert (response.status_code, response.json()) == (409, {"problem": "Version conflict"})


def test_catch_api_errors_passes_other_responses_through() -> None:
    response = _call("GET", "/fine")
    assert (response.status_code, response.json()) == (200, {"ok": True})


def test_catch_api_errors_keeps_the_handler_signature() -> None:
    response = _call("GET", "/token")
    assert (response.status_code, response.json()) == (404, {"problem": "token 7"})


def test_http_exception_handler_renders_routing_failures() -> None:
    missing = _call("GET", "/nowhere")
    assert (missing.status_code, missing.json()) == (404, {"routing": 404, "path": "/nowhere"})
    wrong_method = _call("POST", "/fine")
    assert (wrong_method.status_code, wrong_method.json()) == (405, {"routing": 405, "path": "/fine"})
