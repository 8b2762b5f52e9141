"""Sandbox tenants: a vendor simulator served on loopback and a tenant connected to it.

`host_sandbox` starts a tenant's simulator (gateway.sandbox_host) and, for an OAuth vendor,
connects the tenant through the operator's own authorization-code flow (gateway.connect),
which the simulator approves without a login page. The grant goes to a throw-away token
directory under a throw-away key. One process hosts each simulator: the gateway itself, or,
with several workers, their parent (gateway.workers), so that every worker talks to the same.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.connect import connect
from gateway.contract import AdapterConfig, OAuthApp, SandboxFactory, Vendor
from gateway.observability.context import working_for
from gateway.sandbox_host import SandboxHost
from gateway.settings import TenantSettings
from gateway.shared.state import SharedState
from gateway.tenant_config import adapter_config
from gateway.upstream.oauth import token_client
from gateway.upstream.token_store import TokenStore

log = logging.getLogger("gateway")


@dataclass(frozen=True)
class HostedSandbox:
    """A running simulator: what a tenant's adapter needs to reach it."""

    base_url: str
    options: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)
    token_store: Path  # where its OAuth grant is
    token_key: str = field(repr=False)  # and the key that encrypts it

    def adapter_config(
        self, name: str, conf: TenantSettings, vendor: Vendor[Any], shared: SharedState | None = None
    ) -> AdapterConfig[Any]:
        """The tenant's adapter configuration, reaching this simulator."""
        return adapter_config(
            name,
            conf,
            vendor,
            base_url=self.base_url,
            options=self.options,
            secrets=self.secrets,
            token_store=self.token_store,
            token_keys=(self.token_key,),
            shared=shared,
        )


async def host_sandbox(
    name: str,
    conf: TenantSettings,
    vendor: Vendor[Any],
    sandbox: SandboxFactory,
    host: SandboxHost,
    token_store: Path,
    token_key: str,
) -> HostedSandbox:
    running = sandbox()
    root = host.start(running.app, name)
    hosted = HostedSandbox(
        root + running.base_path, {**running.options(root), **conf.options}, running.secrets, token_store, token_key
    )
    log.info("tenant %s: %s sandbox on %s", name, conf.vendor, root)
    if vendor.oauth is not None:
        config = hosted.adapter_config(name, conf, vendor)
        await _connect_sandbox(name, vendor.oauth(config), TokenStore(token_store, (token_key,)))
    return hosted


async def _connect_sandbox(name: str, app: OAuthApp, store: TokenStore) -> None:
    async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:

        async def approve(url: str) -> None:
            (await browser.get(url)).raise_for_status()

        token_http, post = token_client(app)
        try:
            with working_for(name):  # the code exchange's vendor calls are this tenant's
                await connect(name, app, store, post, approve)
        finally:
            await token_http.aclose()
    log.info("tenant %s: connected to its sandbox through the authorization-code flow", name)
