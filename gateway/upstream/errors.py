"""Vendor HTTP failures → gateway errors. Vendor clients supply the message.

A refused credential (401/403) is a 502 `security`, not a 401 to our client: the client's
own credentials were fine, the gateway's are the operator's to fix. Vendor 404, 409 and 410
keep their meaning; 429 keeps its Retry-After; 400/422 tell the client what the vendor rejected;
anything else is a 502: `transient` for a vendor failing a read, `processing` for one failing to
answer a write, which it may have applied (`error_from_response`).

Callers pass a message they have already cleaned of PHI (vendors echo request input in their
error bodies; that never reaches a client or a log).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from gateway.errors import (
    FHIRError,
    Gone,
    InvalidRequest,
    NotFound,
    PreconditionFailed,
    Throttled,
    UpstreamError,
    UpstreamSecurity,
    UpstreamUnusable,
    WriteUnconfirmed,
)
from gateway.http_dates import http_date

if TYPE_CHECKING:
    from gateway.upstream.http import UpstreamResponse

log = logging.getLogger("gateway.upstream")

# RFC 9110: a 408 may be repeated (15.5.9), 421 sent again on another connection (15.5.20), 425
# later (RFC 8470 section 5.2), a locked 423 (RFC 4918 section 11.3) once unlocked; 501 and 505
# are the server not supporting the request at all (15.6.2, 15.6.6).
_MAY_BE_TAKEN_LATER = frozenset({408, 421, 423, 425})
NEVER_TAKEN = frozenset({501, 505})
MAX_RETRY_AFTER = 3600  # seconds: a vendor's wait passed on to our client, at most an hour


def error_for_status(status: int, message: str, *, retry_after: str | None = None) -> FHIRError:
    if status in (401, 403):
        return UpstreamSecurity(
            f"The vendor refused the gateway's credentials (HTTP {status}); "
            "the operator must check the tenant configuration"
        )
    if status == 404:
        return NotFound(message or "Not found at the vendor")
    if status == 410:  # RFC 9110 section 15.5.11: known to have been there, and deleted
        return Gone(message or "Deleted at the vendor")
    if status == 409:
        return PreconditionFailed(message or "The record changed at the vendor (version conflict)")
    if status == 429:
        return Throttled("The vendor is rate-limiting requests; retry later", retry_after=_seconds(retry_after))
    if 300 <= status < 400:  # a redirect gateway.upstream.http did not follow: off the vendor's origin
        return UpstreamUnusable(
            f"The vendor system redirected the request to another site (HTTP {status}), where the gateway "
            "does not follow it; the tenant's base_url may need updating"
        )
    if status in (400, 422):
        return InvalidRequest(
            f"The vendor rejected the request: {message}" if message else "The vendor rejected the request"
        )
    if status in NEVER_TAKEN or (400 <= status < 500 and status not in _MAY_BE_TAKEN_LATER):
        # The vendor does not take the request as the gateway sends it (405, 415, 501, ...):
        # the same request again will not change that.
        return UpstreamUnusable(f"The vendor system did not take the request (HTTP {status})")
    return UpstreamError(f"The vendor system failed (HTTP {status})")


def _seconds(retry_after: str | None) -> int:
    """Whole seconds to wait from a vendor's Retry-After: delay-seconds or an HTTP-date (RFC
    9110 section 10.2.3), or a decimal some send; at least 1, and 1 when it says nothing readable."""
    text = (retry_after or "").strip()
    try:
        delay = float(text) if text.isascii() else math.nan
    except ValueError:
        when = http_date(text)
        delay = (when - datetime.now(UTC)).total_seconds() if when is not None else math.nan
    if not math.isfinite(delay):
        return 1
    return max(1, min(math.ceil(delay), MAX_RETRY_AFTER))


@contextmanager
def vendor_answer(vendor: str) -> Iterator[None]:
    """Turn a vendor answer that lacks its documented shape into a 502, not a 500.

    Only the exception's type is logged: the payload may hold PHI.
    """
    try:
        yield
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        if isinstance(exc, FHIRError):
            raise
        log.warning("%s answered with an unexpected shape (%s)", vendor, type(exc).__name__)
        raise UpstreamUnusable("The vendor's answer did not have the documented shape") from None


def json_or_error(response: UpstreamResponse, message_of: Callable[[Any], str]) -> Any:
    """The parsed body of a successful (2xx) answer; any other answer raised as the gateway error
    it means (`message_of` as for `error_from_response`)."""
    if 200 <= response.status < 300:
        return response.json()
    raise error_from_response(response, message_of)


def error_from_response(response: UpstreamResponse, message_of: Callable[[Any], str]) -> FHIRError:
    """The gateway error for a vendor's failed answer; `message_of` picks a PHI-free message
    out of the vendor's error body (an unreadable body still maps by status). A refusal of a
    keyed write sent again after an attempt the vendor may have applied (its answer lost:
    `UpstreamResponse.after_perhaps_applied`) is that write's outcome still unknown: a 409 is
    the first attempt still running under the key, a 404, 412 or 422 may be the first attempt's
    own doing (RFC 9110 section 9.2.2); a client told the refusal resends it under another key."""
    if response.answers_a_write and response.status >= 500 and response.status not in NEVER_TAKEN:
        # A failure to answer the write, not a refusal of it: an app's error after its commit, or
        # its proxy's 502/504 after the app applied it (RFC 9110 section 9.2.2: the outcome of a
        # request that is not idempotent is unknown unless the answer says). A client told
        # `transient` resends it, and the vendor makes it twice.
        return WriteUnconfirmed(
            f"The vendor system failed answering the write (HTTP {response.status}); it may have been "
            "applied: read before sending it again"
        )
    if response.after_perhaps_applied:
        return WriteUnconfirmed(
            f"The vendor refused the write sent again (HTTP {response.status}) after an earlier attempt whose "
            "answer was lost; it may have been applied: read before sending it again"
        )
    try:
        body = response.json()
    except UpstreamError:
        body = None
    return error_for_status(response.status, message_of(body), retry_after=response.headers.get("Retry-After"))
