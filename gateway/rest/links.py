"""Page links: one builder for every searchset the gateway pages (search, `$everything`).

Links repeat the parameters that shaped the answer, `_count`, the pass-through `_format` and
`_pretty`, and the signed page token (http://hl7.org/fhir/R4/http.html#paging).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote_plus

from gateway.errors import InvalidRequest
from gateway.slow_clients import MAX_TARGET_BYTES

PASSTHROUGH = ("_format", "_pretty")


def page_link(
    url: str,
    params: Sequence[tuple[str, str]],
    count: int,
    token: str | None = None,
    kept: Sequence[tuple[str, str]] = (),
) -> str:
    """`url` with the search's parameters, its page size, the pass-through parameters `kept`
    and, past the first page, its token."""
    query = [*params, ("_count", str(count)), *kept]
    if token:
        query.append(("_page", token))
    return f"{url}?{'&'.join(f'{_encoded(name)}={_encoded(value)}' for name, value in query)}"


def followable(link: str, rel: str) -> str:
    """`link`, a page the client must follow to have the whole answer (`next`, `previous`),
    when the gateway can read it back: its request target (the path and query a client sends)
    within `MAX_TARGET_BYTES` (a 414 past it, gateway.slow_clients). A `POST _search` of long
    values builds longer links than any GET it could send; its other pages would be out of
    reach, so the search is refused instead of answered in part."""
    target = len(link.encode()) - link.find("/", link.find("://") + 3)
    if target > MAX_TARGET_BYTES:
        raise InvalidRequest(
            f"This answer has more than one page, and the link to its {rel} page would be {target} bytes long: "
            f"over the {MAX_TARGET_BYTES} a request may hold. Send fewer or shorter values, or a larger _count"
        )
    return link


# What `quote_plus` leaves as it is (RFC 3986 unreserved): most names, ids and page tokens.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")


def _encoded(text: str) -> str:
    """`text` as `urllib.parse.urlencode` writes it, without its per-character work when there
    is nothing to escape."""
    return text if _UNRESERVED.fullmatch(text) else quote_plus(text)


def passthrough(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in items if k in PASSTHROUGH]
