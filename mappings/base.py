"""The adapter contract: what the gateway asks of a vendor, and what a vendor declares it can do.

An adapter is the only place a vendor's API meets FHIR. It declares, per resource type, the
interactions and search parameters it supports and how (pushed down to the vendor, or left
to the gateway); the gateway builds routes, the CapabilityStatement and parameter checks from
those declarations, so they cannot disagree.

Search is a pull of vendor pages. The gateway calls `search` with an opaque `position`
(None for the first page) and gets back FHIR resources in the vendor's order plus the
position of the following page. Whatever the vendor could not filter, the gateway filters
over the FHIR afterwards; pages are assembled, counted and signed by the gateway. This fits
every vendor in scope:

- page numbers (Dental PMS `page`, Laravel `page`, NexHealth `page`) and cursors (Dental PMS
  `after`) are both just a JSON-able `position`;
- OR-semantics vendors (NexHealth) push down what narrows and declare the rest `GATEWAY`;
- vendors whose records live inside a parent (free-text allergies, encounters in a patient
  payload, a CCD inside an encounter) return them from the parent's call with ids that carry
  the parent's id (DESIGN §5), so `read` stays one vendor call;
- token refresh, logins and OAuth live in each vendor's client, behind this contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from gateway.search.model import DatePrefix, SearchQuery
from gateway.upstream.oauth import OAuthApp

JSON = Any
Resource = dict[str, Any]


class Interaction(StrEnum):
    """FHIR RESTful interactions, as spelled in CapabilityStatement.rest.resource.interaction."""

    READ = "read"
    SEARCH = "search-type"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


READ_SEARCH = frozenset({Interaction.READ, Interaction.SEARCH})


class Pushdown(StrEnum):
    """Who evaluates a search parameter."""

    EXACT = "exact"  # the vendor applies it with FHIR semantics; its totals stay exact
    NARROWS = "narrows"  # the vendor narrows to a superset; the gateway finishes the filter
    GATEWAY = "gateway"  # the vendor cannot help; the gateway filters what it fetched


ALL_PREFIXES = frozenset(DatePrefix)
STRING_MODIFIERS = frozenset({"exact", "contains"})


@dataclass(frozen=True)
class SearchParamSupport:
    name: str
    pushdown: Pushdown = Pushdown.GATEWAY
    modifiers: frozenset[str] = frozenset()
    prefixes: frozenset[DatePrefix] = frozenset()
    documentation: str = ""


# Declarations most vendors make the same way.
ID_PARAM = SearchParamSupport("_id", Pushdown.EXACT)  # answered by reads
LAST_UPDATED_PARAM = SearchParamSupport("_lastUpdated", Pushdown.GATEWAY, prefixes=ALL_PREFIXES)
PATIENT_PARAM = SearchParamSupport("patient", Pushdown.EXACT)  # the vendor's per-patient endpoint
SUBJECT_PARAM = SearchParamSupport("subject", Pushdown.EXACT)


@dataclass(frozen=True)
class ResourceSupport:
    type: str
    interactions: frozenset[Interaction]
    search_params: tuple[SearchParamSupport, ...] = ()
    sorts: tuple[str, ...] = ()  # parameters `_sort` accepts, ascending or descending
    required: tuple[frozenset[str], ...] = ()  # each: at least one of these parameters
    profiles: tuple[str, ...] = ()
    documentation: str = ""

    def param(self, name: str) -> SearchParamSupport | None:
        return next((p for p in self.search_params if p.name == name), None)


@dataclass(frozen=True)
class SearchRequest:
    """One vendor page of a search, as the gateway asks for it."""

    query: SearchQuery
    position: JSON | None  # None: the first page
    page_size: int  # how many vendor records to ask for (within `Adapter.max_page_size`)


@dataclass(frozen=True)
class VendorPage:
    resources: Sequence[Resource]  # FHIR resources, in the vendor's (stable) order
    next: JSON | None  # position of the following page; None on the last
    total: int | None = None  # the FHIR total of the whole query, only when the adapter knows it exactly
    # What the client must know about this answer (e.g. matches the vendor cannot find):
    # reported as an OperationOutcome entry of the searchset, never silently.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class TenantContext:
    """What pure mapping functions may know about the tenant (no I/O, no secrets)."""

    tenant: str
    identifier_system: str  # base URI of this tenant's identifier systems
    timezone: str = "UTC"  # the zone vendor local times are in
    extra: Mapping[str, Any] = field(default_factory=dict)

    def system(self, kind: str) -> str:
        return f"{self.identifier_system}/{kind}"


class Adapter(Protocol):
    """A vendor connection, seen from the gateway."""

    @property
    def resources(self) -> Mapping[str, ResourceSupport]: ...

    @property
    def max_page_size(self) -> int: ...

    async def read(self, resource_type: str, resource_id: str) -> Resource:
        """The resource, or NotFound / Gone (gateway.errors)."""
        ...

    async def search(self, resource_type: str, request: SearchRequest) -> VendorPage: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Written:
    """A resource as the vendor now stores it, and what of the client's resource it could not keep."""

    resource: Resource
    not_stored: tuple[str, ...] = ()


class Writer(Protocol):
    """An adapter that can also write: it implements the methods of the write interactions it
    declares (create, update, delete), and routes offer only those.

    Incoming resources reach these methods already checked as valid FHIR; vendor-specific
    requirements (required fields, value sets) are the adapter's to enforce, with an
    Unprocessable naming the element, before anything is sent.
    """

    async def create(self, resource_type: str, resource: Resource) -> Written:
        """The created resource as now stored at the vendor (with its new id).

        A vendor refusing a duplicate raises gateway.errors.AlreadyExists, with the existing
        resource when the adapter can find it (conditional create then answers with it).
        """
        ...

    async def update(self, resource_type: str, resource_id: str, resource: Resource, if_match: str | None) -> Written:
        """Replace; `if_match` is the version the client last saw (PreconditionFailed if stale)."""
        ...

    async def delete(self, resource_type: str, resource_id: str) -> None: ...


@dataclass(frozen=True)
class AdapterConfig:
    """Everything an adapter is built from: where the vendor is and how to talk to it."""

    base_url: str
    context: TenantContext
    options: Mapping[str, Any]  # vendor scoping: org id, practice id, subdomain, ...
    secrets: Mapping[str, str] = field(repr=False)  # resolved credentials (never logged)
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    total_timeout: float = 20.0
    max_connections: int = 64


@dataclass(frozen=True)
class Sandbox:
    """A vendor simulator ready to serve: the ASGI app and what a tenant needs to use it."""

    app: Any  # an ASGI application
    base_path: str  # path prefix of the API under the server root
    options: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class Vendor:
    """One vendor folder's entry points; `mappings.registry` lists them."""

    name: str
    create_adapter: Callable[[AdapterConfig], Adapter]
    create_sandbox: Callable[[], Sandbox]
    # Vendors that grant access through OAuth2 authorization codes: their endpoints and our
    # registration, from a tenant's configuration (see gateway.connect).
    oauth: Callable[[AdapterConfig], OAuthApp] | None = None
