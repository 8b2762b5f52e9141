"""What a tenant can do, as data: interactions, search parameters and who evaluates them.

A vendor declares, per resource type, only its own knowledge (which parameters its API can
narrow by, its sort keys, its profiles). The parameters every provider answers the same way
are added here, once: `_id` (answered by reads), `_lastUpdated` (filtered by the gateway over
`meta.lastUpdated`) and the patient compartment's `patient`/`subject`. Routes, the
CapabilityStatement, strict handling and filtering all read the resulting `ResourceSupport`,
so none of them can disagree with another.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from gateway.search.definitions import definition
from gateway.search.model import DatePrefix


class Interaction(StrEnum):
    """FHIR RESTful interactions, as spelled in CapabilityStatement.rest.resource.interaction."""

    READ = "read"
    SEARCH = "search-type"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


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


# Answered for every provider by reading each id (gateway.search.execute.vendor_page).
ID_PARAM = SearchParamSupport("_id", Pushdown.EXACT, documentation="Logical id: each id named is read (at most 50)")
LAST_UPDATED_PARAM = SearchParamSupport("_lastUpdated", Pushdown.GATEWAY, prefixes=ALL_PREFIXES)
COMPARTMENT_PARAMS = ("patient", "subject")


@dataclass(frozen=True)
class ResourceDeclaration:
    """One resource type as a vendor declares it: its own search parameters and traits.

    `per_patient`: the type lives in the patient compartment and its vendor lists it per
    patient, so a search names one patient (`patient`, or `subject` where R4 defines it),
    pushed down exactly. `required` adds other ways to pick records (each group: at least one
    of these); `_id` always counts as one.
    """

    type: str
    search_params: tuple[SearchParamSupport, ...] = ()
    sorts: tuple[str, ...] = ()  # parameters `_sort` accepts, ascending or descending
    per_patient: bool = False
    required: tuple[frozenset[str], ...] = ()
    last_updated: bool = False  # resources carry meta.lastUpdated: `_lastUpdated` can filter them
    # Resources carry meta.lastUpdated though `_lastUpdated` is not offered (implied by last_updated).
    dated: bool = False
    versioned: bool = False  # resources carry meta.versionId: a vread of the current version answers
    profiles: tuple[str, ...] = ()
    documentation: str = ""


@dataclass(frozen=True)
class ResourceSupport:
    """A resource type as the gateway serves it: the declaration plus the generic parameters,
    with the interactions the provider's handlers implement."""

    type: str
    interactions: frozenset[Interaction]
    search_params: tuple[SearchParamSupport, ...] = ()
    sorts: tuple[str, ...] = ()
    required: tuple[frozenset[str], ...] = ()
    profiles: tuple[str, ...] = ()
    documentation: str = ""
    versioned: bool = False
    dated: bool = False  # resources carry meta.lastUpdated (a read answers Last-Modified)

    def param(self, name: str) -> SearchParamSupport | None:
        return next((p for p in self.search_params if p.name == name), None)


def served(declaration: ResourceDeclaration, interactions: frozenset[Interaction]) -> ResourceSupport:
    """The declaration with the generic parameters every provider answers the same way."""
    if Interaction.SEARCH not in interactions:
        return ResourceSupport(
            declaration.type,
            interactions,
            profiles=declaration.profiles,
            documentation=declaration.documentation,
            versioned=declaration.versioned,
            dated=declaration.dated or declaration.last_updated,
        )
    generic = [ID_PARAM]
    if declaration.last_updated:
        generic.append(LAST_UPDATED_PARAM)
    required = declaration.required
    if declaration.per_patient:
        names = [n for n in COMPARTMENT_PARAMS if definition(declaration.type, n) is not None]
        generic += [SearchParamSupport(n, Pushdown.EXACT) for n in names]
        required = required or (frozenset(names),)
    own = tuple(p for p in declaration.search_params if p.name not in {g.name for g in generic})
    return ResourceSupport(
        type=declaration.type,
        interactions=interactions,
        search_params=(*generic, *own),
        sorts=declaration.sorts,
        required=tuple(group | {"_id"} for group in required),
        profiles=declaration.profiles,
        documentation=declaration.documentation,
        versioned=declaration.versioned,
        dated=declaration.dated or declaration.last_updated,
    )
