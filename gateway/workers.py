"""`fhir-gateway serve --workers N`: N processes serving one port, sharing state on Redis.

uvicorn's supervisor spawns the workers and restarts one that dies; each worker listens on a
socket of its own, and the system spreads the connections over them (gateway.worker_sockets),
unless `server.worker_sockets = "shared"`.
Each worker builds the gateway from the same `WorkerSetup`, which the parent writes to a
private file (0600 in a 0700 directory) named by an environment variable, because spawned
processes share nothing else with it. What must be the same in every worker is decided once,
in the parent:

- the simulators of sandbox tenants run in the parent, once, so that every worker talks to
  the same vendor (a write through one worker is read through another); their OAuth grants
  are made there too, into a token directory the workers share;
- the paging secret, when the operator set none, so that a `next` link made by one worker
  opens on another.

Everything else that workers share at run time (vendor tokens, rate limits, breakers, the
cache, the audit sequence) is in the shared state, which `Settings` requires for N > 1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pickle
import secrets
import shutil
import socket
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.fernet import Fernet
from starlette.applications import Starlette

from gateway.contract import SandboxFactory, Vendor
from gateway.observability.metrics import MULTIPROCESS_ENV
from gateway.sandbox_host import SandboxHost
from gateway.sandbox_tenants import HostedSandbox, host_sandbox
from gateway.settings import Settings
from gateway.slow_clients import header_protocol
from gateway.worker_sockets import hold_address, reuse_port_supported

if TYPE_CHECKING:
    from uvicorn import Config

log = logging.getLogger("gateway.workers")
SETUP_ENV = "FHIR_GATEWAY_WORKER_SETUP"

# The workers' HTTP protocol, importable by name (each spawned worker imports it); its header
# timeout is set from the settings when the worker builds its app.
WorkerProtocol = header_protocol(10.0)
WorkerProtocol.__qualname__ = WorkerProtocol.__name__ = "WorkerProtocol"
WorkerProtocol.__module__ = __name__
PROTOCOL = f"{__name__}:WorkerProtocol"
APP_FACTORY = f"{__name__}:worker_app"


@dataclass(frozen=True)
class WorkerSetup:
    settings: Settings
    hosted: Mapping[str, HostedSandbox]


def worker_app() -> Starlette:
    """uvicorn's app factory in each worker."""
    from gateway.app import create_app
    from gateway.observability.log_format import setup_logging
    from gateway.plugins import installed_sandboxes, installed_vendors

    # Written by this gateway's own parent into a 0600 file of a 0700 directory: as trusted as
    # the configuration file itself.
    with open(os.environ[SETUP_ENV], "rb") as handle:
        setup: WorkerSetup = pickle.load(handle)
    WorkerProtocol.header_timeout = setup.settings.server.header_timeout
    # A spawned worker starts with Python's logging unconfigured: the same format as the parent.
    setup_logging(setup.settings.observability.log_format, setup.settings.server.log_level)
    return create_app(setup.settings, installed_vendors(), installed_sandboxes(), hosted=setup.hosted)


def serve_workers(
    settings: Settings,
    vendors: Mapping[str, Vendor[Any]],
    sandboxes: Mapping[str, SandboxFactory],
    **uvicorn_options: Any,
) -> None:
    """Host the sandboxes, write the setup, and run uvicorn's supervisor until it stops."""
    import uvicorn

    directory = Path(tempfile.mkdtemp(prefix="fhir-gateway-workers-"))  # 0700
    host = SandboxHost()
    try:
        settings = _with_paging_secret(settings, directory)
        hosted = asyncio.run(_host_sandboxes(settings, vendors, sandboxes, host, directory))
        path = directory / "setup.pickle"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(WorkerSetup(settings, hosted), handle)
        os.environ[SETUP_ENV] = str(path)
        metrics = directory / "metrics"  # the workers' Prometheus figures, summed by any scrape
        metrics.mkdir(mode=0o700)
        os.environ[MULTIPROCESS_ENV] = str(metrics)
        workers = settings.server.workers
        config = uvicorn.Config(APP_FACTORY, factory=True, workers=workers, http=PROTOCOL, **uvicorn_options)
        _supervise(config, own_sockets=settings.server.worker_sockets == "own")
    finally:
        os.environ.pop(SETUP_ENV, None)
        os.environ.pop(MULTIPROCESS_ENV, None)
        host.stop()
        shutil.rmtree(directory, ignore_errors=True)


def _supervise(config: Config, own_sockets: bool) -> None:
    """uvicorn's worker supervisor, as `uvicorn.run` starts it for workers > 1; with `own_sockets`
    each worker listens on a socket of its own (gateway.worker_sockets)."""
    from uvicorn.config import STARTUP_FAILURE

    from gateway.worker_supervisor import WorkerSupervisor

    if own_sockets and reuse_port_supported():
        try:
            sock: socket.socket = hold_address(config.host, config.port)
        except OSError as exc:
            log.error("cannot listen on %s:%d: %s", config.host, config.port, exc.strerror)
            sys.exit(STARTUP_FAILURE)
        host, port = sock.getsockname()[:2]
        log.info("listening on %s:%d, each of the %d workers on a socket of its own", host, port, config.workers)
    else:
        sock = config.bind_socket()  # logs the address; exits when it is taken
    try:
        with sock:
            WorkerSupervisor(config, sockets=[sock]).run()
    except KeyboardInterrupt:
        pass


def _with_paging_secret(settings: Settings, directory: Path) -> Settings:
    """The settings with a paging secret every worker shares (generated when none is set)."""
    if settings.server.paging_secret:
        return settings
    path = directory / "paging-secret"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    server = settings.server.model_copy(update={"paging_secret": f"file:{path}"})
    return settings.model_copy(update={"server": server})


async def _host_sandboxes(
    settings: Settings,
    vendors: Mapping[str, Vendor[Any]],
    sandboxes: Mapping[str, SandboxFactory],
    host: SandboxHost,
    directory: Path,
) -> dict[str, HostedSandbox]:
    tokens = directory / "sandbox-tokens"
    tokens.mkdir(mode=0o700)
    key = Fernet.generate_key().decode()
    return {
        name: await host_sandbox(name, conf, vendors[conf.vendor], sandboxes[conf.vendor], host, tokens, key)
        for name, conf in settings.tenants.items()
        if conf.sandbox
    }
