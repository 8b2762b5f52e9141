"""One provider per resource type: its declaration and its handlers, registered together.

Modelled on HAPI FHIR's `IResourceProvider`: the interactions a type supports are exactly the
handlers its provider has, so routes, `Allow`, the CapabilityStatement and strict handling
follow from one registration and nothing is looked up by name.

Search is a pull of vendor pages. The gateway calls `search` with an opaque `position` (None
for the first page) and gets back FHIR resources in the vendor's order plus the position of
the following page; whatever the vendor could not filter, the gateway filters over the FHIR
afterwards. Page numbers and cursors are both just a JSON-able `position`. `_id` never reaches
a provider's `search`: the gateway answers it with `read`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.contract.declarations import Interaction, ResourceDeclaration, ResourceSupport, served
from gateway.errors import NotFound
from gateway.search.model import SearchQuery

JSON = Any
Resource = dict[str, Any]


@dataclass(frozen=True)
class SearchRequest:
    """One vendor page of a search, as the gateway asks for it."""

    query: SearchQuery
    position: JSON | None  # None: the first page
    page_size: int  # how many vendor records to ask for (within the provider's `max_page_size`)


@dataclass(frozen=True)
class VendorPage:
    resources: Sequence[Resource]  # FHIR resources, in the vendor's (stable) order
    next: JSON | None  # position of the following page; None on the last
    total: int | None = None  # the FHIR total of the whole query, only when the provider knows it exactly
    # What the client must know about this answer (e.g. matches the vendor cannot find):
    # reported as an OperationOutcome entry of the searchset, never silently.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Written:
    """A resource as the vendor now stores it, what of the client's resource it could not keep,
    and what else the client should know of the write (`warnings`: the write was made, but the
    resource answered is not the vendor's own reading of it, say)."""

    resource: Resource
    # Each a FHIRPath expression (`Patient.telecom`), perhaps followed by why in parentheses:
    # `Patient.name (only the first given and the family name are kept)`.
    not_stored: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


Read = Callable[[str], Awaitable[Resource]]
"""The resource of this id, or NotFound / Gone (gateway.errors)."""
Search = Callable[[SearchRequest], Awaitable[VendorPage]]
Create = Callable[[Resource], Awaitable[Written]]
"""The created resource as the vendor now stores it (with its new id). A vendor refusing a
duplicate raises gateway.errors.AlreadyExists, with the existing resource when it can be found
(conditional create then answers with it). A conditional create's `If-None-Exist` is
`create_condition()` (gateway.contract.conditions) while it runs. Incoming resources are already valid FHIR; the
vendor's own requirements are the provider's to enforce (Unprocessable naming the element)."""
Update = Callable[[str, Resource, str | None], Awaitable[Written]]
"""Replace (id, resource, the version the client last saw or None; PreconditionFailed if stale)."""
Delete = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ResourceProvider:
    declaration: ResourceDeclaration
    read: Read
    search: Search | None = None
    create: Create | None = None
    update: Update | None = None
    delete: Delete | None = None
    max_page_size: int = 100  # the most records one vendor page may hold
    # The record as the vendor holds it now, past any response cache (what a conditional write
    # is checked against); None: `read` is that already.
    read_current: Read | None = None
    support: ResourceSupport = field(init=False, repr=False, compare=False)

    def current(self, resource_id: str) -> Awaitable[Resource]:
        return (self.read_current or self.read)(resource_id)

    def __post_init__(self) -> None:
        handlers = {
            Interaction.READ: self.read,
            Interaction.SEARCH: self.search,
            Interaction.CREATE: self.create,
            Interaction.UPDATE: self.update,
            Interaction.DELETE: self.delete,
        }
        interactions = frozenset(i for i, handler in handlers.items() if handler is not None)
        object.__setattr__(self, "support", served(self.declaration, interactions))

    @property
    def type(self) -> str:
        return self.declaration.type


def by_type(*providers: ResourceProvider) -> dict[str, ResourceProvider]:
    """A vendor's provider table, keyed by resource type (one provider per type)."""
    table: dict[str, ResourceProvider] = {}
    for provider in providers:
        if provider.type in table:
            raise ValueError(f"two providers for {provider.type}")
        table[provider.type] = provider
    return table


async def read_from(providers: Mapping[str, ResourceProvider], resource_type: str, resource_id: str) -> Resource:
    """A read through whichever provider serves the type; a type not served has no such resource."""
    provider = providers.get(resource_type)
    if provider is None:
        raise NotFound(f"{resource_type}/{resource_id} does not exist")
    return await provider.read(resource_id)
