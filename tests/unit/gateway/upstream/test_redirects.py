"""A vendor's redirects, over real HTTP: a write is sent again with its method, body and
credentials to the vendor's own Location (a framework adding a path's trailing slash), a 303 is
read with GET, and nothing is sent to another origin."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gateway.sandbox_host import serve_in_thread
from gateway.upstream.errors import error_for_status
from gateway.upstream.http import Timeouts, UpstreamClient

Seen = list[tuple[str, str, bytes, str | None]]  # method, path with query, body, Authorization


@pytest.fixture
def vendor() -> Iterator[tuple[str, Seen]]:
    seen: Seen = []

    async def handle(request: Request) -> Response:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        seen.append((request.method, path, await request.body(), request.headers.get("authorization")))
        if not request.url.path.endswith("/"):  # Django's APPEND_SLASH, or a 307/308 by choice
            status = int(request.query_params.get("status", "301"))
            if status == 399:  # elsewhere: another origin
                return RedirectResponse("http://localhost:9/patients/", 302)
            return RedirectResponse(
                request.url.path + "/" + (f"?{request.url.query}" if request.url.query else ""), status
            )
        if request.url.path == "/done/":
            return JSONResponse({"method": request.method})
        return JSONResponse({"method": request.method, "body": (await request.body()).decode()}, 201)

    app = Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST", "PATCH", "PUT", "DELETE"])])
    running = serve_in_thread(app)
    yield running.url, seen
    running.stop()


def _send(url: str, method: str, path: str) -> tuple[int, object]:
    async def send() -> tuple[int, object]:
        client = UpstreamClient(url, Timeouts(1, 2, 4), 4)
        try:
            answer = await client.request(
                method, path, json={"first_name": "Ada"}, headers={"Authorization": "Bearer t"}
            )
            return answer.status, answer.json()
        finally:
            await client.aclose()

    return asyncio.run(send())


@pytest.mark.parametrize("status", [301, 302, 307, 308])
@pytest.mark.parametrize("method", ["POST", "PATCH"])
def test_a_write_redirected_to_the_vendors_own_path_is_sent_again_whole(
    vendor: tuple[str, Seen], method: str, status: int
) -> None:
    url, seen = vendor
    answered = _send(url, method, f"/patients?status={status}")
    assert answered == (201, {"method": method, "body": '{"first_name":"Ada"}'})
    assert [(m, p, a) for m, p, _, a in seen] == [
        (method, f"/patients?status={status}", "Bearer t"),
        (method, f"/patients/?status={status}", "Bearer t"),
    ]
    assert seen[0][2] == seen[1][2] == b'{"first_name":"Ada"}'


def test_a_write_answered_303_is_read_where_it_says(vendor: tuple[str, Seen]) -> None:
    url, seen = vendor
    assert _send(url, "POST", "/done?status=303") == (200, {"method": "GET"})
    assert [(m, p, b) for m, p, b, _ in seen] == [
        ("POST", "/done?status=303", b'{"first_name":"Ada"}'),
        ("GET", "/done/?status=303", b""),
    ]


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_redirect_to_another_origin_is_not_followed(vendor: tuple[str, Seen], method: str) -> None:
    # Neither the vendor's credentials nor a query naming a patient go to another site.
    url, seen = vendor
    status, _ = _send(url, method, "/patients?status=399&family=Okafor")
    assert status == 302 and len(seen) == 1  # the answer, not retried
    assert "redirected the request to another site" in str(error_for_status(status, ""))


def test_a_read_redirected_on_the_vendors_own_origin_is_followed(vendor: tuple[str, Seen]) -> None:
    url, seen = vendor
    assert _send(url, "GET", "/done")[0] == 200
    assert [(m, p) for m, p, _, _ in seen] == [("GET", "/done"), ("GET", "/done/")]
