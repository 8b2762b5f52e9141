"""Stateless, signed page tokens (http://hl7.org/fhir/R4/http.html#paging: links are opaque).

A `next` link carries where the following page starts: the vendor's page or cursor, how many
records of that vendor page were already served, and the vendor page size. The token is
HMAC-signed (itsdangerous) and bound to the tenant, the caller and the exact search, so a
tampered token, or one taken from another search, tenant or caller, is refused with a 400
instead of silently serving some other page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import orjson
from itsdangerous import BadSignature, URLSafeSerializer

from gateway.errors import InvalidRequest
from gateway.search.execute import PagePosition


def search_fingerprint(tenant: str, caller: str, resource_type: str, params: Sequence[tuple[str, str]]) -> str:
    # JSON, not `k=v&…`: no value can be crafted to read as another search's parameters.
    canonical = orjson.dumps([tenant, caller, resource_type, sorted(params)])
    return hashlib.sha256(canonical).hexdigest()[:24]


class PageTokens:
    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt="fhir-gateway.page")

    def issue(self, fingerprint: str, position: PagePosition) -> str:
        return self._serializer.dumps(
            {
                "f": fingerprint,
                "v": position.vendor,
                "s": position.skip,
                "n": position.page_size,
                "h": list(position.history),
            }
        )

    def open(self, token: str, fingerprint: str) -> PagePosition:
        try:
            data = self._serializer.loads(token)
        except BadSignature:
            raise InvalidRequest("The paging token is invalid or has been altered", expression="_page") from None
        if not isinstance(data, dict) or data.get("f") != fingerprint:
            raise InvalidRequest(
                "The paging token belongs to a different search; follow the links of this search",
                expression="_page",
            )
        return PagePosition(data["v"], int(data["s"]), int(data["n"]), tuple(data["h"]))
