"""Tenants at run time: each configured vendor connection with its providers and documents."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from gateway import jsonio
from gateway.cache import STALE_WARNING, CachePolicy, Codec, ResponseCache, SharedCacheStore, stale_resource
from gateway.ccd.model import Custodian
from gateway.contract import (
    Adapter,
    Drift,
    Resource,
    ResourceProvider,
    SearchRequest,
    TenantContext,
    VendorPage,
    Written,
)
from gateway.documents.generate import DocumentSource
from gateway.documents.providers import Documents
from gateway.shared.sealed import Seal
from gateway.shared.state import SharedState
from gateway.text import nfc
from gateway.upstream.errors import vendor_answer
from gateway.version import SOFTWARE_VERSION

P = ParamSpec("P")
R = TypeVar("R")


def _guard(handler: Callable[P, Awaitable[R]] | None, vendor: str) -> Callable[P, Awaitable[R]] | None:
    if handler is None:
        return None
    call = handler

    async def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        with vendor_answer(vendor):
            return await call(*args, **kwargs)

    return guarded


def guarded(provider: ResourceProvider, vendor: str) -> ResourceProvider:
    """The provider with every handler turning a vendor answer of an undocumented shape into a
    502, and every resource it returns in NFC (gateway.text)."""
    read, search, create, update = provider.read, provider.search, provider.create, provider.update

    async def read_nfc(resource_id: str) -> Resource:
        return cast(Resource, nfc(await read(resource_id)))

    async def search_nfc(request: SearchRequest) -> VendorPage:
        assert search is not None
        page = await search(request)
        # One check of the whole page (nearly always NFC already); `nfc` walks lists, not tuples.
        found = page.resources if isinstance(page.resources, list) else list(page.resources)
        resources = nfc(found)
        return page if resources is page.resources else dataclasses.replace(page, resources=resources)

    async def create_nfc(resource: Resource) -> Written:
        assert create is not None
        written = await create(resource)
        return dataclasses.replace(written, resource=nfc(written.resource))

    async def update_nfc(resource_id: str, resource: Resource, if_match: str | None) -> Written:
        assert update is not None
        written = await update(resource_id, resource, if_match)
        return dataclasses.replace(written, resource=nfc(written.resource))

    return dataclasses.replace(
        provider,
        read=_guard(read_nfc, vendor) or read_nfc,
        search=_guard(search_nfc if search else None, vendor),
        create=_guard(create_nfc if create else None, vendor),
        update=_guard(update_nfc if update else None, vendor),
        delete=_guard(provider.delete, vendor),
    )


def cached(provider: ResourceProvider, cache: ResponseCache, dependents: Sequence[str] = ()) -> ResourceProvider:
    """The provider answering reads and search pages from `cache` (gateway.cache), and dropping
    the type's entries after each of its writes, and those of the `dependents` types too."""
    kind, read, search = provider.type, provider.read, provider.search

    async def read_cached(resource_id: str) -> Resource:
        return await cache.fetch(kind, f"read:{resource_id}", lambda: read(resource_id), RESOURCE, stale_resource)

    async def search_cached(request: SearchRequest) -> VendorPage:
        assert search is not None
        key = (
            "search:" + hashlib.sha256(repr((request.query, request.position, request.page_size)).encode()).hexdigest()
        )
        return await cache.fetch(kind, key, lambda: search(request), PAGE, _stale_page)

    def forgetting(handler: Callable[P, Awaitable[R]] | None) -> Callable[P, Awaitable[R]] | None:
        if handler is None:
            return None
        write = handler

        async def written(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await write(*args, **kwargs)
            finally:  # even a failed write may have changed something
                await asyncio.shield(_forget(cache, (kind, *dependents)))

        return written

    return dataclasses.replace(
        provider,
        read=read_cached,
        read_current=provider.read_current or read,
        search=search_cached if search else None,
        create=forgetting(provider.create),
        update=forgetting(provider.update),
        delete=forgetting(provider.delete),
    )


async def _forget(cache: ResponseCache, kinds: Sequence[str]) -> None:
    for kind in kinds:
        await cache.forget_type(kind)


RESOURCE: Codec[Resource] = Codec(jsonio.dumps, jsonio.loads)
PAGE: Codec[VendorPage] = Codec(
    lambda page: jsonio.dumps([list(page.resources), page.next, page.total, list(page.warnings)]),
    lambda payload: _page(*jsonio.loads(payload)),
)


def _page(resources: list[Resource], next_: Any, total: int | None, warnings: list[str]) -> VendorPage:
    return VendorPage(resources, next_, total, tuple(warnings))


def _stale_page(page: VendorPage) -> VendorPage:
    resources = [stale_resource(r) for r in page.resources]
    return dataclasses.replace(page, resources=resources, total=None, warnings=(*page.warnings, STALE_WARNING))


class Connection:
    """A vendor adapter as the gateway uses it: its providers guarded (and cached, where the
    tenant caches), rebuilt only when the adapter's table changes (a vendor may learn more of
    itself at run time)."""

    def __init__(self, vendor: str, adapter: Adapter, cache: ResponseCache | None = None) -> None:
        self.vendor = vendor
        self._adapter = adapter
        self.cache = cache
        self._seen: Mapping[str, ResourceProvider] | None = None
        self._guarded: dict[str, ResourceProvider] = {}

    def _wrap(self, provider: ResourceProvider, table: Mapping[str, ResourceProvider]) -> ResourceProvider:
        safe = guarded(provider, self.vendor)
        if self.cache is None:
            return safe
        # What the types of the patient compartment answer depends on their patient (a deleted
        # patient's allergies are gone with it, 410): a write of a Patient drops their entries
        # too, or a client would read around its own DELETE.
        dependents = (
            [name for name, p in table.items() if p.declaration.per_patient] if provider.type == "Patient" else []
        )
        return cached(safe, self.cache, dependents)

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        current = self._adapter.providers
        if current is not self._seen:
            self._guarded = {name: self._wrap(p, current) for name, p in current.items()}
            self._seen = current
        return self._guarded

    async def aclose(self) -> None:
        await self._adapter.aclose()


@dataclass
class Tenant:
    name: str
    context: TenantContext
    connection: Connection
    documents: Documents
    drift: Drift = field(default_factory=Drift)  # what the vendor's readers did not expect
    _seen: Mapping[str, ResourceProvider] | None = field(default=None, repr=False)
    _providers: dict[str, ResourceProvider] = field(default_factory=dict, repr=False)

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        """Every provider the tenant serves: the vendor's, and the generated documents'."""
        vendor = self.connection.providers
        if vendor is not self._seen:
            self._providers = self.documents.providers(vendor)
            self._seen = vendor
        return self._providers

    @property
    def vendor_providers(self) -> Mapping[str, ResourceProvider]:
        return self.connection.providers

    async def aclose(self) -> None:
        await self.connection.aclose()


def build_tenant(
    name: str,
    context: TenantContext,
    vendor: str,
    adapter: Adapter,
    organization: str,
    drift: Drift | None = None,
    cache: CachePolicy | None = None,
    shared: SharedState | None = None,
    seal: Seal | None = None,
) -> Tenant:
    """`shared`: where the cache is kept when it leaves this process (else an LRU here), its
    entries sealed by `seal`."""
    store = None
    if cache is not None and shared is not None and shared.kind != "in-process":
        if seal is None:  # vendor answers are PHI: never kept off this process unsealed
            raise ValueError("a cache in the shared state needs the token keys to seal it")
        store = SharedCacheStore(shared, name, seal, cache.max_entries, cache.ttl + cache.stale_for)
    responses = ResponseCache(cache, store, tenant=name) if cache is not None else None
    connection = Connection(vendor, adapter, responses)
    custodian = Custodian(organization, context.identifier_system)
    source = DocumentSource(connection, context.timezone, custodian, SOFTWARE_VERSION)
    return Tenant(name, context, connection, Documents(source), drift or Drift(name, vendor))
