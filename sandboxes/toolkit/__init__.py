"""Small helpers the vendor simulators share; each module holds one idea.

- ``aliases``: ``JsonObject`` and ``Handler``, the types every simulator speaks in.
- ``folding``: case- and accent-insensitive text (``fold``, ``strip_marks``, ``folded_words``).
- ``errors``: ``ApiError`` (a refused request) and the glue that turns it, and Starlette's
  own ``HTTPException``, into the vendor's error response.
- ``rows``: ``Row``, the base of a record held as the vendor's JSON document.
- ``caches``: bounded memo caches for query results, cleared on every write.
- ``paging``: the page/per-page slice.
- ``base64url``: unpadded URL-safe base64 (cursors, JWT segments).
- ``timestamps``: ISO dates, ISO UTC instants with ``Z``, millisecond instants.
- ``clock``: the default wall clock.
- ``phones``: US phone formatting ``(312) 555-0142``.
- ``auth``: the credentials of a ``Bearer`` ``Authorization`` header.
- ``integers``: ASCII-digit integers (path ids, token ids).

A helper lands here only when two or more simulators use it unchanged; what one vendor
does differently (its error body, its own text folding, its page-number rules) stays in
that vendor's package.
"""
