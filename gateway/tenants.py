"""Tenants at run time: each configured vendor connection with its adapter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.ccd.model import Custodian
from gateway.documents.adapter import WithDocuments
from gateway.documents.generate import DocumentSource
from gateway.rest.capability import SOFTWARE_VERSION
from gateway.settings import ConfigError, Settings, TenantSettings, resolve_secret
from mappings.base import Adapter, AdapterConfig, TenantContext
from mappings.registry import vendor


@dataclass(frozen=True)
class Endpoint:
    """Where a tenant's vendor is, once sandboxes (if any) have been started."""

    base_url: str
    options: Mapping[str, Any]
    secrets: Mapping[str, str]


@dataclass
class Tenant:
    name: str
    adapter: Adapter
    context: TenantContext


def endpoint_from_settings(tenant: TenantSettings) -> Endpoint:
    if not tenant.base_url:
        raise ConfigError("base_url is required unless sandbox = true")
    secrets = {key: resolve_secret(ref) for key, ref in tenant.credentials.items()}
    return Endpoint(tenant.base_url, tenant.options, secrets)


def tenant_config(name: str, conf: TenantSettings, where: Endpoint) -> AdapterConfig:
    context = TenantContext(
        tenant=name,
        identifier_system=conf.identifier_system or f"urn:fhir-gateway:{name}",
        timezone=conf.timezone,
    )
    return AdapterConfig(
        base_url=where.base_url,
        context=context,
        options=where.options,
        secrets=where.secrets,
        connect_timeout=conf.timeouts.connect,
        read_timeout=conf.timeouts.read,
        total_timeout=conf.timeouts.total,
        max_connections=conf.max_connections,
    )


def build_tenants(settings: Settings, endpoints: Mapping[str, Endpoint]) -> dict[str, Tenant]:
    tenants: dict[str, Tenant] = {}
    for name, conf in settings.tenants.items():
        config = tenant_config(name, conf, endpoints[name])
        adapter = vendor(conf.vendor).create_adapter(config)
        custodian = Custodian(conf.organization or name, config.context.identifier_system)
        source = DocumentSource(adapter, conf.timezone, custodian, SOFTWARE_VERSION)
        tenants[name] = Tenant(name, WithDocuments(adapter, source), config.context)
    return tenants
