"""``Idempotency-Key`` on ``POST /patients``: replay a stored 201, refuse a different body.

The API reference lists "409: Idempotency conflict (duplicate Idempotency-Key)" for the
create. The sandbox stores only successful creates: the same key with the same JSON body
(key order and whitespace ignored) gets the stored response again; the same key with
another body is 409 ``Idempotency conflict``. Keys are kept for the app's lifetime.

Whether a repeated key with the same body is replayed is not said; the ``idempotency``
switch of ``create_app`` picks: ``"replay"`` (above, the documented simulator's) or
``"conflict"`` (every repeated key is 409 ``Idempotency conflict``, as the error list can be
read: "duplicate Idempotency-Key") or ``"ignored"`` (the key is not read at all: the reference
names the header only in that error list, never as a parameter, so every create is a new one
and a repeat of one with a chart number is 409 ``Duplicate chart number``).

Or ``"replay_any"``: the first answer to a key is stored whatever its status and replayed to every
repeat with the same body, a failure included (Stripe's idempotency, which many implementations
copy: "saving the resulting status code and body of the first request made for any given
idempotency key, regardless of whether it succeeded or failed ... including 500 errors"); with
``create_answers="lost_once"`` the 503 a create answers once its patient is stored (a failure
after the commit: an event the service publishes, a hook) is then what every repeat of its key
gets.

Or ``"see_other"``: a repeat with the same body is ``303 See Other``, its ``Location`` the patient
the first request made (no body): "the original response" read as the resource it made, as
some idempotency middlewares answer a replay (the IETF draft leaves the replay's form open;
RFC 9110 section 15.4.4 makes 303 the answer that points at the result of a POST). The create
itself is the documented 201. Or ``"see_other_internal"``: the same, the ``Location`` an absolute
URL on the address the service itself listens on (``http://127.0.0.1:8000``), as one behind a
reverse proxy that does not pass the forwarded headers builds it (Django's
``request.build_absolute_uri()`` without ``USE_X_FORWARDED_HOST``, Spring's
``ServletUriComponentsBuilder.fromCurrentRequest()`` without ``server.forward-headers-strategy``):
an origin the client cannot reach, nor should send its credentials to.

Nor is the key's form said. ``idempotency_keys`` picks: ``"any"`` (any text, the documented
simulator's) or ``"uuid"`` (a key that is not a UUID is a 422 naming the header, as a FastAPI
service answers when it declares the header ``UUID``, the form the IETF
Idempotency-Key draft and most APIs' examples give a key, and a Laravel ``uuid`` rule
refuses it).

Nor what a client sees of a create whose answer is lost on the way (a load balancer's timeout
cutting off a slow answer, a connection dropped): ``create_answers`` picks ``"sent"`` (the
documented simulator's) or ``"lost_once"`` (every create that stores a patient answers 503, the
patient stored and its key remembered, so that only a repeat with the same key gets the 201);
or what a create answers at all: ``"location"`` (201 with no body, the new patient's URL in
``Location``, a replay too: Spring's ``ResponseEntity.created(uri).build()``, where the reference
says "Returns 201 with the created patient").
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal, get_args
from uuid import UUID

import orjson

from sandboxes.toolkit.errors import ApiError

__all__ = ["CreateAnswers", "Idempotency", "IdempotencyKeys", "IdempotencyLog", "fingerprint"]

Idempotency = Literal["replay", "conflict", "ignored", "replay_any", "see_other", "see_other_internal"]
# Where a ``"see_other_internal"`` service believes it is: its own bind address.
INTERNAL_ORIGIN = "http://127.0.0.1:8000"
IdempotencyKeys = Literal["any", "uuid"]
CreateAnswers = Literal["sent", "lost_once", "location"]


def fingerprint(body: bytes) -> str:
    """A hash of `body` as canonical JSON (sorted keys), or of its raw bytes when not JSON."""
    try:
        canonical = orjson.dumps(json.loads(body), option=orjson.OPT_SORT_KEYS)
    except (ValueError, TypeError):
        canonical = body
    return hashlib.sha256(canonical).hexdigest()


class IdempotencyLog:
    """The responses of successful creates, by ``Idempotency-Key``."""

    def __init__(
        self, reading: Idempotency = "replay", keys: IdempotencyKeys = "any", answers: CreateAnswers = "sent"
    ) -> None:
        if reading not in get_args(Idempotency):
            raise ValueError(f"idempotency must be one of {get_args(Idempotency)}, not {reading!r}")
        if keys not in ("any", "uuid"):
            raise ValueError(f"idempotency_keys must be 'any' or 'uuid', not {keys!r}")
        if answers not in ("sent", "lost_once", "location"):
            raise ValueError(f"create_answers must be 'sent', 'lost_once' or 'location', not {answers!r}")
        self.reading = reading
        self.keys = keys
        self.answers = answers
        self._responses: dict[str, tuple[str, bytes]] = {}
        # The failures stored for a key (``"replay_any"``): replayed before any stored response.
        self._failures: dict[str, tuple[str, ApiError]] = {}

    def check(self, key: str | None) -> None:
        """422 for a key of a form this reading refuses (pydantic's ``uuid_parsing`` error)."""
        if key is None or self.keys == "any":
            return
        try:
            UUID(key)
        except ValueError:
            raise ApiError(
                422,
                [{"type": "uuid_parsing", "loc": ["header", "idempotency-key"],
                  "msg": "Input should be a valid UUID", "input": key}],
            ) from None  # fmt: skip

    def replay(self, key: str | None, body_fingerprint: str) -> bytes | None:
        """The stored response for `key`, None when there is none; 409 for another body; the
        stored failure raised again (``"replay_any"``)."""
        if key is not None and key in self._failures:
            seen, failure = self._failures[key]
            if seen != body_fingerprint:
                raise ApiError(409, "Idempotency conflict")
            raise ApiError(failure.status, failure.detail)
        if key is None or key not in self._responses or self.reading == "ignored":
            return None
        seen, response = self._responses[key]
        if seen != body_fingerprint or self.reading == "conflict":
            raise ApiError(409, "Idempotency conflict")
        return response

    def remember(self, key: str | None, body_fingerprint: str, response: bytes) -> None:
        """Store the response of a successful create (nothing without a key); with
        ``create_answers="lost_once"``, a 503 is what the client gets of it."""
        lost = key in self._responses  # a key not read (``"ignored"``) loses one answer only
        if key is not None:
            self._responses[key] = (body_fingerprint, response)
        if self.answers == "lost_once" and not lost:
            failure = ApiError(503, "Service unavailable")
            if key is not None and self.reading == "replay_any":  # the failure is what the key replays
                self._failures[key] = (body_fingerprint, failure)
            raise failure
