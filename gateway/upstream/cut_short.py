"""An answer's body, and what the answer means when the body is cut short after its head.

The vendor sent a status line and headers, then the connection dropped (aiohttp's
`ClientPayloadError`, or a connection error) or the time ran out before the body was complete.
The vendor was reached, and its head says what it did:

- a 3xx, 4xx or 5xx is all in its status (RFC 9110 section 15): a redirect is followed by its
  Location, a refusal or a failure is read by its status as when its body came whole. The
  incomplete body is left out, not passed on as if complete (RFC 9112 section 8), and with it
  only the vendor's words of why;
- a 2xx to a write (`taken`: the write itself, or the read of the answer its 303 pointed to)
  says the write was applied and its answer is lost: `WriteUnconfirmed` (502, an incomplete
  answer is an invalid one, RFC 9110 section 15.6.3) or, the time having run out,
  `WriteTimedOut` (504), both `processing`, so that the client does not resubmit it and make it
  twice (a write under an Idempotency-Key is still retried under it by gateway.upstream.retry);
- a 2xx to a read is a failure another attempt may cure: the same request again is safe.
"""

from __future__ import annotations

import aiohttp

from gateway.errors import UpstreamError, UpstreamTimeout, WriteTimedOut, WriteUnconfirmed

CUT_SHORT = (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, TimeoutError)


async def body_of(response: aiohttp.ClientResponse, taken: str | None) -> bytes:
    """The body of `response`; when it is cut short, none for a head that says it all, else the
    error it means (module docstring). `taken`: what to tell the client of a write the vendor
    took, or None for a request that may be sent again."""
    try:
        return await response.read()
    except CUT_SHORT as cut:
        timed_out = isinstance(cut, TimeoutError)
        if response.status >= 300:
            return b""
        if taken is not None:
            raise (WriteTimedOut if timed_out else WriteUnconfirmed)(taken) from None
        if timed_out:
            raise UpstreamTimeout("The vendor system did not answer in time") from None
        raise UpstreamError(f"The vendor system's answer was cut short ({type(cut).__name__})") from None
