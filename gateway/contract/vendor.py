"""A vendor, as the gateway sees it: its options, its connection (the providers), its sandbox.

A vendor package hands the entry point a `Vendor`; the gateway validates each tenant's options
and credentials against it before anything starts, then builds one `Adapter` per tenant.
Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from gateway.contract.drift import Drift
from gateway.contract.oauth import OAuthApp
from gateway.contract.provider import ResourceProvider
from gateway.contract.resilience import Resilience
from gateway.shared.state import SharedState


class VendorOptions(BaseModel):
    """Base of each vendor's option model: unknown or mistyped options are configuration errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NoOptions(VendorOptions):
    pass


OptionsT = TypeVar("OptionsT", bound=VendorOptions)


@dataclass(frozen=True)
class TenantContext:
    """What pure mapping functions may know about the tenant (no I/O, no secrets)."""

    tenant: str
    identifier_system: str  # base URI of this tenant's identifier systems
    timezone: str = "UTC"  # the zone vendor local times are in
    extra: Mapping[str, Any] = field(default_factory=dict)

    def system(self, kind: str) -> str:
        return f"{self.identifier_system}/{kind}"


@dataclass(frozen=True)
class AdapterConfig(Generic[OptionsT]):
    """Everything an adapter is built from: where the vendor is and how to talk to it."""

    base_url: str
    context: TenantContext
    options: OptionsT  # vendor scoping: org id, practice id, subdomain, ... (validated)
    secrets: Mapping[str, str] = field(repr=False)  # resolved credentials (never logged)
    token_store: Path = Path("tokens")  # where OAuth refresh tokens of this tenant are kept
    token_keys: tuple[str, ...] = field(default=(), repr=False)  # and the keys that encrypt them
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    total_timeout: float = 20.0
    max_connections: int = 64
    resilience: Resilience = field(default_factory=Resilience)  # retries and circuit breaker
    # Where the adapter's readers record vendor fields and shapes they did not expect.
    drift: Drift = field(default_factory=Drift)
    # Where this connection's vendor tokens, rate limits and breaker are shared with the other
    # workers and replicas (gateway.shared); None: each part keeps its own, in this process.
    shared: SharedState | None = field(default=None, repr=False)


class Adapter(Protocol):
    """A tenant's vendor connection: one provider per resource type it serves.

    The gateway keeps what it derives from `providers` until the adapter hands out another
    mapping: an adapter that learns more of itself at run time replaces its table, never
    changes it in place (and does not build a new one on every access).
    """

    @property
    def providers(self) -> Mapping[str, ResourceProvider]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Vendor(Generic[OptionsT]):
    """One vendor folder's entry points, as its package registers them."""

    name: str
    options: type[OptionsT]
    credentials: tuple[str, ...]  # credential names a tenant must give (env:/file: references)
    create_adapter: Callable[[AdapterConfig[OptionsT]], Adapter]
    # Vendors that grant access through OAuth2 authorization codes: their endpoints and our
    # registration, from a tenant's configuration (see gateway.connect).
    oauth: Callable[[AdapterConfig[OptionsT]], OAuthApp] | None = None


@dataclass(frozen=True)
class Sandbox:
    """A vendor simulator ready to serve: the ASGI app and what a tenant needs to use it."""

    app: Any  # an ASGI application
    base_path: str  # path prefix of the API under the server root
    # The tenant options that point at this sandbox, given the root URL it is served on.
    options: Callable[[str], Mapping[str, Any]]
    secrets: Mapping[str, str] = field(repr=False)


SandboxFactory = Callable[[], Sandbox]
