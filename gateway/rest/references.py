"""Whether a reference given as an absolute URL names this tenant's server or another one.

An absolute URL names a resource of the server at its base (http://hl7.org/fhir/R4/search.html#reference,
http://hl7.org/fhir/R4/references.html#literal): another server's, or another tenant's,
`Patient/3` is another patient than this tenant's `Patient/3`. The comparison is of URLs, not
of text: scheme and host are case-insensitive, a default port or a trailing dot on the host
name the same server, and a trailing slash on the path changes nothing. A URL with user
information (`http://user@host/…`) is never ours: our own URLs carry none, and RFC 3986
section 3.2.1 deprecates it as a way of disguising the host.
"""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

from gateway.search.model import ReferenceValue, SearchQuery

_DEFAULT_PORTS = {"http": 80, "https": 443}


def foreign(base: str | None, ours: str) -> bool:
    """Whether `base` (None: a relative reference) is another server's than `ours`."""
    return base is not None and _server(base) != _server(ours)


def local_query(query: SearchQuery, base: str) -> SearchQuery | None:
    """The query without reference values that name another server than `base`, or None when a
    condition is left with no value, so that nothing here can match."""
    params = []
    for param in query.params:
        values = tuple(v for v in param.values if not (isinstance(v, ReferenceValue) and foreign(v.base, base)))
        if not values:
            return None
        params.append(param if len(values) == len(param.values) else replace(param, values=values))
    return replace(query, params=tuple(params))


def _server(url: str) -> tuple[str, str, int | None, str]:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # an unclosed IPv6 bracket, a port that is not one: no server of ours
        return ("", url, None, "")
    scheme = parts.scheme.lower()
    if "@" in parts.netloc:
        return ("", url, None, "")
    return (
        scheme,
        (parts.hostname or "").rstrip("."),  # hostname is lower-cased by urlsplit
        port if port is not None else _DEFAULT_PORTS.get(scheme),
        parts.path.rstrip("/"),
    )
