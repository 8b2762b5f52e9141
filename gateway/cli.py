"""`fhir-gateway serve | check-config`."""

from __future__ import annotations

import argparse
import logging
import sys

from gateway.settings import ConfigError, load_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from gateway.app import create_app

    settings = load_settings(args.config)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    logging.basicConfig(
        level=settings.server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
    print(f"FHIR gateway on http://{host}:{port}/fhir/<tenant>/ — tenants: {', '.join(settings.tenants)}", flush=True)
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,  # uvicorn's access log prints query strings, which carry PHI
        log_level=settings.server.log_level,
        proxy_headers=settings.server.public_base_url is None,
    )
    return 0


def _check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    for name, tenant in settings.tenants.items():
        where = "sandbox" if tenant.sandbox else tenant.base_url
        print(f"tenant {name}: vendor {tenant.vendor} at {where}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fhir-gateway", description="FHIR R4 facade gateway")
    parser.add_argument("--config", help="TOML config file (default: $FHIR_GATEWAY_CONFIG, else the demo)")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)
    check = sub.add_parser("check-config", help="validate the config and list tenants")
    check.set_defaults(run=_check)
    args = parser.parse_args(argv)
    try:
        result: int = args.run(args)
        return result
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
