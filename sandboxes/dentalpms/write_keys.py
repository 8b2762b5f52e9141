"""Which patient writes must carry an ``Idempotency-Key``: the ``write_keys`` switch.

The reference names the header once, in the create's errors ("409: Idempotency conflict
(duplicate Idempotency-Key)"; the sub-record creates list "409: Idempotency conflict" too),
never as a parameter, and says nothing of the other writes. ``WriteKeys`` picks:

- ``"creates"`` (the documented simulator's): only ``POST /patients`` reads the key
  (``idempotency``); a PATCH, ``transition-status``, ``archive`` or ``restore`` without one is
  taken as it is.
- ``"every_write"``: every ``POST`` and ``PATCH`` must carry one, as a service answers that
  puts one idempotency middleware in front of every unsafe method (a NestJS interceptor bound
  globally, a Rails ``before_action`` in the base controller, the IETF Idempotency-Key draft's
  "resource server SHOULD reply with an HTTP 400" for a request without it, Stripe's keys on
  every POST). A write without it is 400 ``Idempotency-Key header is required``; a key seen
  before with the same method, path and body gets that write's stored answer again (nothing is
  written twice), and with another write ``409 Idempotency conflict``. The create keeps its
  own log (``idempotency``): only the missing key is checked for it here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Literal

from starlette.requests import Request
from starlette.responses import Response

from sandboxes.dentalpms.idempotency import fingerprint
from sandboxes.toolkit.errors import ApiError
from sandboxes.toolkit.switches import one_of

__all__ = ["WriteKeyLog", "WriteKeys"]

WriteKeys = Literal["creates", "every_write"]
Handler = Callable[[Request], Awaitable[Response]]
_MISSING = "Idempotency-Key header is required"


class WriteKeyLog:
    """The answers of the keyed writes other than a create (``"every_write"``), by key."""

    def __init__(self, reading: WriteKeys = "creates") -> None:
        self.reading = one_of("write_keys", reading, WriteKeys)
        self._answers: dict[str, tuple[str, Response]] = {}

    def keyed(self, handler: Handler, *, replayed: bool = True) -> Handler:
        """`handler` behind this reading: unchanged for ``"creates"``; else a write without a
        key refused, and (`replayed`) one with a key seen before answered as above."""
        if self.reading == "creates":
            return handler

        async def write(request: Request) -> Response:
            key = request.headers.get("idempotency-key")
            if not key:
                raise ApiError(400, _MISSING)
            if not replayed:
                return await handler(request)
            seen = _write_print(request.method, request.url.path, await request.body())
            if key in self._answers:
                written, answer = self._answers[key]
                if written != seen:
                    raise ApiError(409, "Idempotency conflict")
                return Response(answer.body, status_code=answer.status_code, media_type=answer.media_type)
            answer = await handler(request)
            if 200 <= answer.status_code < 300:
                self._answers[key] = (seen, answer)
            return answer

        return write


def _write_print(method: str, path: str, body: bytes) -> str:
    """One write told from another: its method, path and body (as canonical JSON)."""
    return hashlib.sha256(f"{method} {path} {fingerprint(body)}".encode()).hexdigest()
