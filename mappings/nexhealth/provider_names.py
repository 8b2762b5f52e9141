"""The names of NexHealth's providers by id, for appointments that carry `provider_id` alone.

The docs show an appointment's `provider_name` only in a patient's `upcoming_appts`, and no
appointment route: an implementation may serve appointments with `provider_id` alone (a
serializer of the appointment's own columns), the name being `GET /providers`'. Read as no
provider, every Encounter lost its performer (US Core: `Encounter.participant` is must-support).
So the provider list is read (a few pages at most) and kept for `NAMES_SECONDS`; a list that
is not there, or fails, names no one (the Encounter is served without its performer, as before)
and is asked again after `RETRY_SECONDS`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from gateway.contract import Drift
from gateway.errors import InvalidRequest, UpstreamError, UpstreamTimeout
from mappings.nexhealth.client import Envelope
from mappings.nexhealth.shapes import UnreadableShape, VendorProvider, listed, read_many

__all__ = ["NAMES_SECONDS", "ProviderNames", "provider_display"]

log = logging.getLogger("mappings.nexhealth")
NAMES_SECONDS = 600.0  # how long a provider list read is used before it is read again
RETRY_SECONDS = 60.0  # how long after a list that failed (or is not there) it is not asked
MAX_PAGES = 10  # pages of the provider list read at most (1,000 providers at 100 a page)

Pages = Callable[[], AsyncIterator[Envelope | None]]
"""The provider list's pages in order; a `None` (its 404) ends them."""


def provider_display(provider: VendorProvider) -> str | None:
    """How an appointment names its provider (`provider_name`, the simulator's `display_name`):
    the provider's display name, else its name, else its first and last names."""
    for value in (provider.display_name, provider.name):
        if isinstance(value, str) and value.strip():
            return value.strip()
    parts = [str(p).strip() for p in (provider.first_name, provider.last_name) if isinstance(p, str) and p.strip()]
    return " ".join(parts) or None


class ProviderNames:
    """Provider names by id, read from the list `pages` gives, shared by one tenant's requests."""

    def __init__(self, pages: Pages, drift: Drift) -> None:
        self._pages = pages
        self._drift = drift
        self._names: dict[str, str] = {}
        self._until = 0.0  # monotonic: until then `_names` is used as it is
        self._lock = asyncio.Lock()

    async def named(self, appointments: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """`appointments`, each without a `provider_name` given its provider's name where the
        provider list has it."""
        if all(a.get("provider_name") or a.get("provider_id") is None for a in appointments):
            return list(appointments)
        names = await self._by_id()
        return [
            {**a, "provider_name": names[str(a["provider_id"])]}
            if not a.get("provider_name") and str(a.get("provider_id")) in names
            else a
            for a in appointments
        ]

    async def _by_id(self) -> Mapping[str, str]:
        async with self._lock:  # one read of the list however many requests wait on it
            if time.monotonic() < self._until:
                return self._names
            try:
                self._names = await self._read()
            except (UpstreamError, UpstreamTimeout, InvalidRequest, UnreadableShape) as exc:
                log.warning("NexHealth's provider list could not be read (%s): performers are left unnamed", exc)
                self._until = time.monotonic() + RETRY_SECONDS
                return self._names
            self._until = time.monotonic() + (NAMES_SECONDS if self._names else RETRY_SECONDS)
            return self._names

    async def _read(self) -> dict[str, str]:
        names: dict[str, str] = {}
        read = 0
        async for envelope in self._pages():
            read += 1
            if envelope is None:
                break
            providers, _ = read_many(VendorProvider, listed(envelope.data, "providers"), "provider", self._drift)
            fresh = [p for p in providers if str(p.id) not in names]
            for provider in fresh:
                display = provider_display(provider)
                if display is not None:
                    names[str(provider.id)] = display
            if not fresh or read >= MAX_PAGES:
                break
        return names
