"""Stateless, signed page tokens (http://hl7.org/fhir/R4/http.html#paging: links are opaque).

A `next` link carries where the following page starts: the vendor's page or cursor, how many
records of that vendor page were already served, and the vendor page size. The token is a
compact JSON array with a keyed BLAKE2b MAC (RFC 7693, keyed mode: a MAC without HMAC's two
passes) over it, bound to the tenant, the caller and the exact search, so a tampered token, or
one taken from another search, tenant or caller, is refused with a 400 instead of silently
serving some other page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from gateway.errors import InvalidRequest
from gateway.search.execute import PagePosition

_MAC_BYTES = 16  # 128 bits: forging one needs ~2**128 tries
_KEY_CONTEXT = b"fhir-gateway.page\x00"  # the key signs page tokens and nothing else


def search_fingerprint(tenant: str, caller: str, resource_type: str, params: Sequence[tuple[str, str]]) -> str:
    # JSON, not `k=v&…`: no value can be crafted to read as another search's parameters.
    canonical = orjson.dumps([tenant, caller, resource_type, sorted(params)])
    return hashlib.sha256(canonical).hexdigest()[:24]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    # validate: characters outside the alphabet are refused, not skipped (one token, one spelling)
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class PageTokens:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(_KEY_CONTEXT + secret.encode()).digest()

    def _mac(self, payload: bytes) -> bytes:
        return hashlib.blake2b(payload, key=self._key, digest_size=_MAC_BYTES).digest()

    def issue(self, fingerprint: str, position: PagePosition) -> str:
        payload = orjson.dumps(
            [fingerprint, position.vendor, position.skip, position.page_size, list(position.history)]
        )
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def open(self, token: str, fingerprint: str) -> PagePosition:
        data = self._verified(token)
        if data is None:
            raise InvalidRequest("The paging token is invalid or has been altered", expression="_page")
        if data[0] != fingerprint:
            raise InvalidRequest(
                "The paging token belongs to a different search; follow the links of this search",
                expression="_page",
            )
        return PagePosition(data[1], data[2], data[3], tuple(data[4]))

    def _verified(self, token: str) -> list[Any] | None:
        """The token's payload when its MAC is ours and its shape is what `issue` writes."""
        body, _, mac = token.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError):
            return None
        if not hmac.compare_digest(signature, self._mac(payload)):
            return None
        data = orjson.loads(payload)  # ours, since the MAC is: well-formed
        if not (isinstance(data, list) and len(data) == 5 and isinstance(data[4], list)):
            return None
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in data[2:4]):
            return None
        return data
