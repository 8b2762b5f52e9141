"""Stateless, sealed page tokens (http://hl7.org/fhir/R4/http.html#paging: links are opaque).

A `next` link carries where the following page starts: the vendor's page or cursor, how many
records of that vendor page were already served, and the vendor page size. The token is that
compact JSON array sealed with AES-256-GCM (an AEAD: NIST SP 800-38D), bound to the tenant,
the caller and the exact search. Sealed, not only signed: a vendor's cursor may be made of
the last record's own values (a name and an id of the patient it stopped at), and a link must
not show a caller a patient outside its reach, nor put a name in a proxy's log. A tampered
token, or one taken from another search, tenant or caller, is refused with a 400 instead of
silently serving some other page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import InvalidRequest
from gateway.search.execute import PagePosition

_NONCE_BYTES = 12  # GCM's own size; random per token (2**-32 collision odds after 2**32 tokens: SP 800-38D 8.3)
_KEY_CONTEXT = b"fhir-gateway.page\x00"  # the key seals page tokens and nothing else


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
        self._aead = AESGCM(hashlib.sha256(_KEY_CONTEXT + secret.encode()).digest())

    def issue(self, fingerprint: str, position: PagePosition) -> str:
        payload = orjson.dumps(
            [fingerprint, position.vendor, position.skip, position.page_size, list(position.history)]
        )
        nonce = os.urandom(_NONCE_BYTES)
        return _b64(nonce + self._aead.encrypt(nonce, payload, None))

    def open(self, token: str, fingerprint: str) -> PagePosition:
        data = self._opened(token)
        if data is None:
            raise InvalidRequest("The paging token is invalid or has been altered", expression="_page")
        if data[0] != fingerprint:
            raise InvalidRequest(
                "The paging token belongs to a different search; follow the links of this search",
                expression="_page",
            )
        return PagePosition(data[1], data[2], data[3], tuple(data[4]))

    def _opened(self, token: str) -> list[Any] | None:
        """The token's payload when it was sealed with our key and has the shape `issue` writes."""
        try:
            sealed = _unb64(token)
        except (binascii.Error, ValueError):
            return None
        if len(sealed) <= _NONCE_BYTES:
            return None
        try:
            payload = self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], None)
        except InvalidTag:
            return None
        data = orjson.loads(payload)  # ours, since it opened: well-formed
        if not (isinstance(data, list) and len(data) == 5 and isinstance(data[4], list)):
            return None
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in data[2:4]):
            return None
        return data
