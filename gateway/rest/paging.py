"""Stateless, sealed page tokens (http://hl7.org/fhir/R4/http.html#paging: links are opaque).

A `next` link carries where the following page starts: the vendor's page or cursor, how many
records of that vendor page were already served, and the vendor page size. The token is that
compact JSON array sealed with AES-256-GCM (an AEAD: NIST SP 800-38D), bound to the tenant,
the caller and the exact search. Sealed, not only signed: a vendor's cursor may be made of
the last record's own values (a name and an id of the patient it stopped at), and a link must
not show a caller a patient outside its reach, nor put a name in a proxy's log. A tampered
token, or one taken from another search, tenant or caller, is refused with a 400 instead of
silently serving some other page.

A position too long for a link (a vendor cursor made of a very long value) is kept by the
gateway instead, sealed the same way, and the token names it: for `KEPT_SECONDS`, in the shared
state where there is one (every worker then opens it), else in this process.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Any

import orjson
from cachetools import TTLCache
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway.errors import InvalidRequest
from gateway.search.execute import PagePosition
from gateway.shared.state import LocalState, SharedState

_NONCE_BYTES = 12  # GCM's own size; random per token (2**-32 collision odds after 2**32 tokens: SP 800-38D 8.3)
_KEY_CONTEXT = b"fhir-gateway.page\x00"  # the key seals page tokens and nothing else
_NAME_CONTEXT = b"fhir-gateway.page-name\x00"  # the key names kept positions

KEPT_SECONDS = 3600.0  # how long a kept position can be followed: a client walks a search in less
KEPT_LARGEST = 256 * 1024  # bytes of one kept position; past it the search is refused (links.unfollowable)
_KEPT_LOCAL_BYTES = 32 * 1024 * 1024  # all positions this process keeps, the oldest dropped first


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
    def __init__(self, secret: str, shared: SharedState | None = None) -> None:
        self._aead = AESGCM(hashlib.sha256(_KEY_CONTEXT + secret.encode()).digest())
        self._naming = hashlib.sha256(_NAME_CONTEXT + secret.encode()).digest()
        # LocalState drops an expired value only when it is read again; most kept positions
        # never are, so one process keeps them in a cache bounded in bytes.
        self._shared = None if shared is None or isinstance(shared, LocalState) else shared
        self._local: TTLCache[str, bytes] = TTLCache(_KEPT_LOCAL_BYTES, KEPT_SECONDS, getsizeof=len)

    def issue(self, fingerprint: str, position: PagePosition) -> str:
        return self._sealed(_payload(fingerprint, position))

    def name(self, payload: bytes) -> str:
        """A name for `payload` only holders of the paging secret can make (a keyed hash): a
        key in the shared state named so says nothing of what it names, an identifier in a
        condition say, to whoever reads the store."""
        return _b64(hmac.digest(self._naming, payload, "sha256")[:16])

    async def issue_kept(self, fingerprint: str, position: PagePosition) -> str | None:
        """A short token for a position kept by the gateway, for a position too long to carry;
        None when it is longer than `KEPT_LARGEST`."""
        payload = _payload(fingerprint, position)
        if len(payload) > KEPT_LARGEST:
            return None
        # Named by a keyed hash of what it holds: the same page asked again is kept once.
        name = self.name(payload)
        value = self._seal(payload, name.encode())
        if self._shared is not None:
            await self._shared.put(f"page:{name}", value, KEPT_SECONDS)
        else:
            self._local[name] = value
        return self._sealed(orjson.dumps([fingerprint, name]))

    async def open(self, token: str, fingerprint: str) -> PagePosition:
        data = self._opened(token)
        if data is None:
            raise InvalidRequest("The paging token is invalid or has been altered", expression="_page")
        if data[0] != fingerprint:
            raise InvalidRequest(
                "The paging token belongs to a different search; follow the links of this search",
                expression="_page",
            )
        if len(data) == 2:
            data = await self._kept(data[1])
            if data is None or data[0] != fingerprint:
                raise InvalidRequest(
                    "The page this link led to is no longer kept (links past very long values are kept "
                    f"for {KEPT_SECONDS / 60:g} minutes); repeat the search",
                    expression="_page",
                )
        return PagePosition(data[1], data[2], data[3], tuple(data[4]), data[5] if len(data) == 6 else None)

    def _sealed(self, payload: bytes) -> str:
        return _b64(self._seal(payload, None))

    def _seal(self, payload: bytes, bound_to: bytes | None) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, payload, bound_to)

    def _unseal(self, sealed: bytes, bound_to: bytes | None) -> bytes | None:
        """What `_seal` sealed with our key (and `bound_to`), or None."""
        if len(sealed) <= _NONCE_BYTES:
            return None
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], bound_to)
        except InvalidTag:
            return None

    async def _kept(self, name: str) -> list[Any] | None:
        value = await self._shared.get(f"page:{name}") if self._shared is not None else self._local.get(name)
        payload = self._unseal(value, name.encode()) if value is not None else None
        if payload is None:
            return None
        data = orjson.loads(payload)
        return data if _is_position(data) else None

    def _opened(self, token: str) -> list[Any] | None:
        """The token's payload when it was sealed with our key and has a shape `issue` or
        `issue_kept` writes."""
        try:
            sealed = _unb64(token)
        except (binascii.Error, ValueError):
            return None
        payload = self._unseal(sealed, None)
        if payload is None:
            return None
        data = orjson.loads(payload)  # ours, since it opened: well-formed
        kept = isinstance(data, list) and len(data) == 2 and all(isinstance(part, str) for part in data)
        return data if kept or _is_position(data) else None


def _payload(fingerprint: str, position: PagePosition) -> bytes:
    written = [fingerprint, position.vendor, position.skip, position.page_size, list(position.history)]
    if position.resume is not None:
        written.append(position.resume)
    return orjson.dumps(written)


def _is_position(data: Any) -> bool:
    """`data` has the shape `_payload` writes."""
    return (
        isinstance(data, list)
        and len(data) in (5, 6)
        and isinstance(data[4], list)
        and (len(data) == 5 or isinstance(data[5], str))
        and all(isinstance(n, int) and not isinstance(n, bool) for n in data[2:4])
    )
