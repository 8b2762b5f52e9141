"""One benchmark server in its own process: `python -m bench.serve ROLE --fd N [--cpu C]`.

ROLE is `sandbox` (the Dental PMS simulator over the synthetic clinic), `nexhealth` (the
NexHealth simulator over the same clinic, its rate limits lifted), `gateway` (built as
`fhir-gateway serve` builds it, from a TOML file, with the registered vendors and no sandboxes:
its one tenant is a real one) or `proxy` (bench.passthrough).
The parent binds and listens on the loopback socket and hands it over as file descriptor N,
so the port is known before the child starts and cannot be taken in between. Secrets come
from the environment, as in production: BENCH_DENTALPMS_TOKEN (and, for the gateway, the
variables its config names).

A sandbox counts the requests it answers and tells at `GET /_bench/requests` (not counted):
the vendor calls each request kind costs.

Every server runs uvicorn with one worker, uvloop + httptools, no access log, log level
warning. The process dies with its parent (PR_SET_PDEATHSIG), so nothing outlives a run.

`--profile PATH` (gateway, proxy): SIGUSR1 starts cProfile, SIGUSR2 stops it and writes the
stats to PATH; the parent sends them around the measured load only.

`python -m bench.serve cli [--cpus 0,1] -- serve --config FILE --workers N ...` runs the
gateway's own command line (gateway.cli.main) in this process, after making it die with its
parent and setting its cores: `fhir-gateway serve` exactly, uvicorn's worker supervisor included
(which stops its workers when it gets SIGTERM).
"""

from __future__ import annotations

import argparse
import cProfile
import ctypes
import logging
import os
import signal
import socket
import sys
from typing import Any

import uvicorn


def _die_with_parent(parent: int) -> None:
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        sys.exit(1)


class _Counted:
    """A sandbox app that counts the HTTP requests it answers, and says how many at COUNTER_PATH."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        from bench.servers import COUNTER_PATH

        if scope["type"] == "http" and scope["path"] == COUNTER_PATH:
            body = b'{"requests":%d}' % self.requests
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def _sandbox() -> Any:
    from sandboxes.clinic import build_clinic
    from sandboxes.dentalpms.app import create_app

    return _Counted(
        create_app(build_clinic(), org_id=os.environ["BENCH_ORG_ID"], api_token=os.environ["BENCH_DENTALPMS_TOKEN"])
    )


def _nexhealth() -> Any:
    from bench.servers import (
        NEXHEALTH_KEY_ENV,
        NEXHEALTH_RATE_PER_MINUTE,
        NEXHEALTH_RATE_PER_SECOND,
        NEXHEALTH_SUBDOMAIN,
    )
    from sandboxes.clinic import build_clinic
    from sandboxes.nexhealth.app import create_app

    return _Counted(
        create_app(
            build_clinic(),
            api_key=os.environ[NEXHEALTH_KEY_ENV],
            subdomain=NEXHEALTH_SUBDOMAIN,
            rate_per_second=NEXHEALTH_RATE_PER_SECOND,
            rate_per_minute=NEXHEALTH_RATE_PER_MINUTE,
        )
    )


def _gateway(config: str, access_middleware: bool) -> tuple[Any, str]:
    # As gateway.cli._serve does it: settings from the file, logging at the configured level.
    # The bench tenant is a real (not sandbox) tenant, so the gateway gets the vendors only.
    from gateway.app import create_app
    from gateway.settings import load_settings
    from mappings.registry import VENDORS

    settings = load_settings(config)
    logging.basicConfig(
        level=settings.server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    return create_app(settings, VENDORS, access_logging=access_middleware), settings.server.log_level


def _proxy(vendor_base: str, nexhealth_base: str | None) -> Any:
    from bench.passthrough import NexHealthVendor, create_app
    from bench.servers import NEXHEALTH_KEY_ENV, NEXHEALTH_LOCATION, NEXHEALTH_SUBDOMAIN

    nexhealth = None
    if nexhealth_base:
        nexhealth = NexHealthVendor(
            nexhealth_base, os.environ[NEXHEALTH_KEY_ENV], NEXHEALTH_SUBDOMAIN, NEXHEALTH_LOCATION
        )
    return create_app(vendor_base, os.environ["BENCH_ORG_ID"], os.environ["BENCH_DENTALPMS_TOKEN"], nexhealth=nexhealth)


def _install_profiler(path: str) -> None:
    profiler: cProfile.Profile | None = None

    def start(signum: int, frame: Any) -> None:
        nonlocal profiler
        profiler = cProfile.Profile()
        profiler.enable()

    def stop(signum: int, frame: Any) -> None:
        if profiler is None:
            return
        profiler.disable()
        profiler.dump_stats(path + ".part")
        os.replace(path + ".part", path)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.serve")
    parser.add_argument("role", choices=("sandbox", "nexhealth", "gateway", "proxy", "cli"))
    parser.add_argument("--fd", type=int, help="listening socket inherited from the parent (all roles but cli)")
    parser.add_argument("--cpu", type=int, help="pin this process to one core")
    parser.add_argument("--cpus", help="cli: the cores this process and its workers may run on, e.g. 0,1")
    parser.add_argument("--parent", type=int, default=os.getppid())
    parser.add_argument("--config", help="gateway: TOML config file")
    parser.add_argument("--no-access-middleware", action="store_true", help="gateway: create_app(access_logging=False)")
    parser.add_argument("--vendor-base", help="proxy: the sandbox API root")
    parser.add_argument("--nexhealth-base", help="proxy: the NexHealth sandbox API root")
    parser.add_argument("--profile", help="cProfile stats file, toggled by SIGUSR1/SIGUSR2")
    argv = sys.argv[1:] if argv is None else argv
    split = argv.index("--") if "--" in argv else len(argv)
    args, cli_args = parser.parse_args(argv[:split]), argv[split + 1 :]  # cli: `fhir-gateway`'s own arguments

    _die_with_parent(args.parent)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})
    if args.role == "cli":
        from gateway.cli import main as gateway_cli

        if args.cpus:
            os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
        return gateway_cli(cli_args)
    if args.fd is None:
        parser.error(f"{args.role} needs --fd")
    sock = socket.socket(fileno=args.fd)

    log_level = "warning"
    if args.role == "sandbox":
        app = _sandbox()
    elif args.role == "nexhealth":
        app = _nexhealth()
    elif args.role == "gateway":
        app, log_level = _gateway(args.config, not args.no_access_middleware)
    else:
        app = _proxy(args.vendor_base, args.nexhealth_base)
    if args.profile:
        _install_profiler(args.profile)

    http: Any = "httptools"
    if args.role == "gateway":
        # As `serve` runs it: uvicorn's httptools protocol with the gateway's own (slow clients,
        # refusals as OperationOutcomes, one write per answer: gateway.slow_clients).
        from gateway.slow_clients import header_protocol

        http = header_protocol(10.0)
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http=http,
        lifespan="on",
        access_log=False,
        log_level=log_level,
        workers=1,
        date_header=args.role != "gateway",  # the gateway dates its answers itself, as `serve` runs it
        server_header=args.role != "gateway",  # as `serve` runs it
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
