"""The answer to an error no handler took: a 500 OperationOutcome sent from inside the middlewares.

Starlette sends the answer of an `Exception` handler from its outermost middleware, past every
one of ours: the client got no request id to quote, no `Cache-Control: no-store`, no audit
line was written for it and no metric counted it; and that middleware raises the error again
after answering, so the server logged a second traceback. Here, innermost, the same handler's
answer goes out through all of them, and the error ends here (logged once, by the handler).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.rest.outcome import unexpected_error_handler


class LastResort:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            if started:  # part of an answer is out: nothing else can be said on it
                raise
            response = await unexpected_error_handler(Request(scope, receive), exc)
            await response(scope, receive, send)
