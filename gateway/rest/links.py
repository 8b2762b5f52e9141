"""Page links: one builder for every searchset the gateway pages (search, `$everything`).

Links repeat the parameters that shaped the answer, `_count`, the pass-through `_format` and
`_pretty`, and the signed page token (http://hl7.org/fhir/R4/http.html#paging).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

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


def fits(link: str) -> bool:
    """Whether the gateway can read `link` back: its request target (the path and query a
    client sends) within `MAX_TARGET_BYTES` (a 414 past it, gateway.slow_clients)."""
    return target_bytes(link) <= MAX_TARGET_BYTES


def target_bytes(link: str) -> int:
    return len(link[link.find("/", link.find("://") + 3) :].encode())


def unfollowable(link: str, rel: str) -> InvalidRequest:
    """The refusal of an answer whose `rel` page (one the client must follow to have it
    whole) could not be reached: a `POST _search` of long values builds longer links than any
    GET could be, and the search is refused rather than answered in part."""
    return InvalidRequest(
        f"This answer has more than one page, and the link to its {rel} page would be {target_bytes(link)} bytes "
        f"long: over the {MAX_TARGET_BYTES} a request may hold. Send fewer or shorter values, or a larger _count"
    )


# What a query may hold as it is (RFC 3986 section 3.4: pchar, "/" and "?"), but for what a
# form decoder reads otherwise ("+", "&", "=") and "%" and "#". Escaping more only lengthens the
# links (a reference or system URL would triple its "/" and ":"), and they have a length limit.
_SAFE = ":/,@!$'()*;?"
_AS_IT_IS = re.compile(r"[A-Za-z0-9_.~:/,@!$'()*;?-]*")


def _encoded(text: str) -> str:
    """`text` escaped for a query, without the per-character work when nothing needs it."""
    return text if _AS_IT_IS.fullmatch(text) else quote(text, safe=_SAFE)


def passthrough(items: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, v) for k, v in items if k in PASSTHROUGH]
