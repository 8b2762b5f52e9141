"""The audit middleware: every `/fhir/` request, and every token request (`/auth/token`: an
authentication), leaves one line, written before its answer
goes out, so that a request the sink cannot record is answered 503 instead (unless the
operator chose `fail_open`, as the demo may)."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import jsonio
from gateway.audit.events import Request, audit_event, authentication_event
from gateway.audit.health import AuditHealth
from gateway.audit.patients import recorded_patients
from gateway.audit.scope_keys import CLAIMED_CLIENT, REFUSED_CALLER, TOKEN_PATH
from gateway.audit.sequence import AuditSequence
from gateway.audit.sink import AuditSink, AuditUnavailable
from gateway.auth.decision import Caller
from gateway.observability.context import refused_status
from gateway.rest.outcome import operation_outcome
from gateway.rest.response_headers import set_header
from gateway.shared.state import LocalState, SharedState, SharedStateUnavailable

log = logging.getLogger("gateway.audit")
AUDIT_SEQUENCE = "urn:fhir-gateway:audit-sequence"
_REQUEST_ID = re.compile(r"[A-Za-z0-9\-_.]{8,64}")


class Audit:
    def __init__(
        self,
        app: ASGIApp,
        sink: AuditSink,
        fail_open: bool = False,
        sequence: SharedState | None = None,
        tenants: Collection[str] | None = None,
        health: AuditHealth | None = None,
    ) -> None:
        """`sequence`: where the audit sequence is counted, one for every worker and replica, so
        that their trails merge in order and a missing line shows as a gap. `tenants`: the
        configured ones (another name in a path is recorded as unknown, not as sent)."""
        self.app = app
        self.tenants = frozenset(tenants) if tenants is not None else None
        self.sink = sink
        self.fail_open = fail_open
        self.sequence = AuditSequence(sequence or LocalState())
        self.health = health or AuditHealth()  # read by /readyz (gateway.observability.health)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (scope["path"].startswith("/fhir/") or scope["path"] == TOKEN_PATH):
            await self.app(scope, receive, send)
            return
        request_id = str(scope.get("fhir.request_id") or _request_id(scope))  # gateway.observability sets it
        refused = started = False

        async def audited(message: Message) -> None:
            nonlocal refused, started
            if message["type"] == "http.response.start":
                started = True
                if not await self._record(scope, message["status"], request_id, _location_of(message)):
                    refused = True
                    await _unavailable(send, request_id)
                    return
                set_header(message, b"x-request-id", request_id.encode("latin-1"))
            if not refused:
                await send(message)

        try:
            await self.app(scope, receive, audited)
        except Exception:
            if not started:  # the outermost handler answers 500; the line is written all the same
                await self._record(scope, 500, request_id)
            raise

    async def _record(self, scope: Scope, status: int, request_id: str, location: str | None = None) -> bool:
        number: int | None = None
        try:
            number = await self.sequence.next()
        except SharedStateUnavailable:
            log.warning("the audit sequence cannot be counted (shared state unavailable); line written without it")
        # A request the HTTP protocol refused while its app served it (a malformed chunk of the
        # body, gateway.slow_clients) was answered with the refusal, not with what the app sends:
        # the trail records the answer the client had, not a read or write that never happened.
        # Read after the wait for the sequence, during which the refusal may come.
        status = refused_status(scope) or status
        client = scope.get("client")
        request = Request(
            method=scope["method"],
            path=scope["path"],
            request_id=request_id,
            client_address=client[0] if client else None,
            patients=recorded_patients(scope),
            location=location,
        )
        if scope["path"] == TOKEN_PATH:
            claimed = scope.get(CLAIMED_CLIENT)
            event = authentication_event(request, status, claimed if isinstance(claimed, str) else None)
        else:
            found: Any = scope.get("fhir.caller")
            if not isinstance(found, Caller):  # refused for the tenant: the client all the same
                found = scope.get(REFUSED_CALLER)
            caller = found if isinstance(found, Caller) else None
            event = audit_event(request, status, caller, tenants=self.tenants)
        if number is not None:
            event["extension"].append({"url": AUDIT_SEQUENCE, "valueInteger": number})
        try:
            self.sink.write(event)
        except AuditUnavailable as exc:
            log.error("audit sink unavailable (%s): %s", "serving unaudited" if self.fail_open else "refusing", exc)
            self.health.failed()
            return self.fail_open
        except Exception as exc:
            # Once the answer has started, nothing downstream writes the line: a write that fails
            # in a way no sink foresaw is a line not written, and is answered as one (a 503). Its
            # type only: the message of an encoding error quotes the text it could not write.
            decision = "serving unaudited" if self.fail_open else "refusing"
            log.error("the audit line could not be written (%s): %s", decision, type(exc).__name__)
            self.health.failed()
            return self.fail_open
        self.health.written()
        return True


def _location_of(message: Message) -> str | None:
    """The answer's `Location` (a create's: the record made, or matched by If-None-Exist)."""
    for name, value in message.get("headers", []):
        if name.lower() == b"location":
            return str(value.decode("latin-1"))
    return None


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.fullmatch(text):
                return text
    return secrets.token_hex(8)


async def _unavailable(send: Send, request_id: str) -> None:
    body = jsonio.dumps(
        operation_outcome("fatal", "transient", "This request could not be audited, so it was not served; try again")
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/fhir+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"5"),
                (b"x-request-id", request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
