"""Tenants at run time: each configured vendor connection with its providers and documents."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import ParamSpec, TypeVar

from gateway.ccd.model import Custodian
from gateway.contract import Adapter, ResourceProvider, TenantContext
from gateway.documents.generate import DocumentSource
from gateway.documents.providers import Documents
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
    """The provider with every handler turning a vendor answer of an undocumented shape into a 502."""
    return dataclasses.replace(
        provider,
        read=_guard(provider.read, vendor) or provider.read,
        search=_guard(provider.search, vendor),
        create=_guard(provider.create, vendor),
        update=_guard(provider.update, vendor),
        delete=_guard(provider.delete, vendor),
    )


class Connection:
    """A vendor adapter as the gateway uses it: its providers guarded, rebuilt only when the
    adapter's table changes (a vendor may learn more of itself at run time)."""

    def __init__(self, vendor: str, adapter: Adapter) -> None:
        self.vendor = vendor
        self._adapter = adapter
        self._seen: Mapping[str, ResourceProvider] | None = None
        self._guarded: dict[str, ResourceProvider] = {}

    @property
    def providers(self) -> Mapping[str, ResourceProvider]:
        current = self._adapter.providers
        if current is not self._seen:
            self._guarded = {name: guarded(p, self.vendor) for name, p in current.items()}
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


def build_tenant(name: str, context: TenantContext, vendor: str, adapter: Adapter, organization: str) -> Tenant:
    connection = Connection(vendor, adapter)
    custodian = Custodian(organization, context.identifier_system)
    source = DocumentSource(connection, context.timezone, custodian, SOFTWARE_VERSION)
    return Tenant(name, context, connection, Documents(source))
