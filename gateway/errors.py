"""The one exception hierarchy of the gateway; each error renders as an OperationOutcome.

Every failure a client can cause or meet is raised as a `FHIRError` subclass. The single
handler in `gateway.rest.outcome` turns it into an OperationOutcome with the status below.
Messages are written for clients: they never carry PHI, tokens or vendor payloads.
"""

from __future__ import annotations

import re
from collections.abc import Mapping


class FHIRError(Exception):
    """Base: an HTTP status, an OperationOutcome issue code, and a client-safe message."""

    status: int = 500
    code: str = "exception"
    severity: str = "error"

    def __init__(
        self,
        diagnostics: str,
        *,
        expression: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(diagnostics)
        self.diagnostics = diagnostics
        self.expression = expression
        self.headers: dict[str, str] = dict(headers or {})
        self.issues: list[tuple[str, str | None]] = []  # further (diagnostics, expression) pairs


def copied(error: FHIRError) -> FHIRError:
    """The same error (class, message, headers, ...) without a traceback of its own: for an error
    several callers share (one failed token renewal, one failed vendor read). Raising one object
    again chains every caller's frames onto its traceback and keeps them alive with it."""
    clone = error.__class__.__new__(error.__class__)
    clone.args = error.args
    clone.__dict__.update(error.__dict__)
    return clone


class Invalid(FHIRError):
    """A resource sent by the client is not valid FHIR; lists every problem found."""

    status = 400
    code = "structure"

    def __init__(self, problems: list[tuple[str, str | None]]) -> None:
        first, where = problems[0]
        super().__init__(first, expression=where)
        self.issues = problems[1:]


class InvalidRequest(FHIRError):
    """The request is malformed: bad parameter value, malformed id, bad token."""

    status = 400
    code = "invalid"


class NotSupported(FHIRError):
    """A parameter, modifier or interaction the tenant does not support (strict handling)."""

    status = 400
    code = "not-supported"


def bearer_challenge(error: str, description: str) -> str:
    """A `WWW-Authenticate: Bearer` challenge (RFC 6750 §3) naming `error`, or a bare one when
    there is none (§3.1: a request without credentials gets no error code). The description
    keeps to the characters §3 allows it (printable ASCII but `"` and `\\`): a header is no
    place for a quote that ends the value early, a line break, or text latin-1 cannot encode."""
    if not error:
        return "Bearer"
    text = _UNSAFE_IN_DESCRIPTION.sub("?", description.replace('"', "'"))
    return f'Bearer error="{error}", error_description="{text}"'


_UNSAFE_IN_DESCRIPTION = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class Unauthorized(FHIRError):
    """No acceptable access token (RFC 6750 §3: the challenge says why, never echoing it)."""

    status = 401
    code = "login"

    def __init__(self, diagnostics: str, *, error: str = "invalid_token") -> None:
        super().__init__(diagnostics, headers={"WWW-Authenticate": bearer_challenge(error, diagnostics)})


class InvalidAuthorization(FHIRError):
    """The request's authorization is malformed, not merely missing or unacceptable (RFC 6750
    §3.1 invalid_request: a 400, with a challenge saying so), e.g. two Authorization headers."""

    status = 400
    code = "invalid"

    def __init__(self, diagnostics: str) -> None:
        super().__init__(diagnostics, headers={"WWW-Authenticate": bearer_challenge("invalid_request", diagnostics)})


class Forbidden(FHIRError):
    """A valid token whose scopes or tenants do not cover the request (RFC 6750 §3.1
    insufficient_scope: a 403 whose challenge says so)."""

    status = 403
    code = "forbidden"

    def __init__(self, diagnostics: str) -> None:
        super().__init__(diagnostics, headers={"WWW-Authenticate": bearer_challenge("insufficient_scope", diagnostics)})


class NotFound(FHIRError):
    status = 404
    code = "not-found"


class Gone(FHIRError):
    status = 410
    code = "deleted"


class MethodNotAllowed(FHIRError):
    status = 405
    code = "not-supported"


class TooCostly(FHIRError):
    """Answering would take more vendor calls or resources than one request may use."""

    status = 422
    code = "too-costly"


class PayloadTooLarge(FHIRError):
    status = 413
    code = "too-costly"


class RequestTimeout(FHIRError):
    """The client did not finish sending its request in time."""

    status = 408
    code = "timeout"


class NotAcceptable(FHIRError):
    status = 406
    code = "not-supported"


class UnsupportedMediaType(FHIRError):
    status = 415
    code = "not-supported"


class Unprocessable(FHIRError):
    """Well-formed but fails business rules (vendor requirements, profile rules)."""

    status = 422
    code = "processing"


class UnsupportedModifier(Unprocessable):
    """A modifier (a modifierExtension, implicitRules, or a modifier element such as
    Patient.active) with a value the vendor cannot hold: stored without it, the record would mean
    something else (R4 ElementDefinition.isModifier: its value "cannot be ignored")."""

    code = "not-supported"


class Conflict(FHIRError):
    status = 409
    code = "conflict"


class AlreadyExists(Conflict):
    """The vendor refused a create as a duplicate; `existing` is that record when known."""

    def __init__(self, diagnostics: str, existing: dict[str, object] | None = None) -> None:
        super().__init__(diagnostics)
        self.existing = existing


class PreconditionFailed(FHIRError):
    status = 412
    code = "conflict"


class Throttled(FHIRError):
    status = 429
    code = "throttled"

    def __init__(self, diagnostics: str, *, retry_after: int = 1) -> None:
        super().__init__(diagnostics, headers={"Retry-After": str(max(1, retry_after))})


class UpstreamError(FHIRError):
    """The vendor failed (5xx, connection refused): another try may succeed."""

    status = 502
    code = "transient"


class UpstreamUnusable(UpstreamError):
    """The vendor answered, and the answer cannot be used: not JSON, not in its documented shape,
    or not from where the tenant's configuration means (a redirect off the vendor's site, no such
    route at its `base_url`). Trying again will not change it: no `transient` issue (nor one of
    its kinds, `exception` among them) but `processing`, "expected to be final ... no point
    resubmitting the same content unchanged" (R4 valueset-issue-type). Not retried either."""

    code = "processing"


class WriteUnconfirmed(UpstreamError):
    """A write the vendor may have applied (its connection lost after the write went out), or did
    apply (it answered 303, and the answer it pointed to could not be read). Not `transient`:
    a client that resubmits the same content may make it twice; `processing`, "no point
    resubmitting the same content unchanged" (R4 valueset-issue-type), until it has looked."""

    code = "processing"


class DocumentIncomplete(UpstreamError):
    """A document's sources could not all be read: it is not served incomplete (R4
    valueset-issue-type `incomplete`: not all data sources could be reached)."""

    code = "incomplete"


class VendorUnavailable(FHIRError):
    """The vendor's circuit breaker is open: refused at once, to be tried again after Retry-After."""

    status = 503
    code = "transient"

    def __init__(self, diagnostics: str, *, retry_after: int = 1) -> None:
        super().__init__(diagnostics, headers={"Retry-After": str(max(1, retry_after))})


class UpstreamSecurity(FHIRError):
    """The vendor rejected *our* credentials: a configuration problem, not the client's."""

    status = 502
    code = "security"


class UpstreamTimeout(FHIRError):
    status = 504
    code = "timeout"


class WriteTimedOut(WriteUnconfirmed, UpstreamTimeout):
    """A write the vendor may have applied, or did apply, whose answer did not come in time: it
    was sent, and the vendor was slow to answer. Still a 504 (RFC 9110 section 15.6.5: the
    gateway "did not receive a timely response from an upstream server"), but `processing`, as
    `WriteUnconfirmed`, not `timeout`: that is a `transient` issue, "may be able to resubmit the
    same content" (R4 valueset-issue-type), and a write resubmitted may be made twice. A write
    whose time ran out before it was sent (connecting, or waiting for a connection) is an
    `UpstreamTimeout`: certainly not applied."""

    status = 504
