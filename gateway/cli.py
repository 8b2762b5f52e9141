"""`fhir-gateway serve | check-config | connect`, with `--config FILE` before or after the verb.

The vendors (and the demo's simulators) are the installed ones (gateway.plugins); the
configuration is checked against them before anything starts.
"""

from __future__ import annotations

import argparse
import shlex
import signal
import ssl
import sys
from pathlib import Path
from types import FrameType
from typing import NoReturn

from gateway.plugins import installed_sandboxes, installed_vendors
from gateway.settings import ConfigError, ServerSettings, Settings, load_settings
from gateway.tenant_config import check_tenants, token_keys


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config)
    check_tenants(settings, installed_vendors(), installed_sandboxes())
    return settings


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.workers is not None:
        settings = _with_workers(settings, args.workers)
    host = args.host or settings.server.host
    port = args.port if args.port is not None else settings.server.port
    if not args.smart_demo:
        return _run(settings, host, port)
    from gateway.smart_demo import DEMO_CLIENT, DEMO_SCOPES, smart_demo

    # uvicorn ends a SIGTERM'd serve by raising the signal again under the handler it found:
    # the default one would end the process there, past the `with` that removes the demo's keys.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    with smart_demo(settings, host, port) as demo:
        print(
            f"SMART demo: client '{DEMO_CLIENT}' ({' '.join(DEMO_SCOPES)}) signs with the private key in\n"
            f"  {demo.client_key}\n"
            f"Get a token:  {_program()} token --url {demo.root} --client {DEMO_CLIENT} --key {demo.client_key}",
            flush=True,
        )
        return _run(demo.settings, host, port)


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)  # the shell's status for a process ended by the signal


def _run(settings: Settings, host: str, port: int) -> int:
    import uvicorn

    from gateway.app import create_app
    from gateway.audit.sink import check_audit_path
    from gateway.auth.gate import check_exposure
    from gateway.observability.log_format import setup_logging
    from gateway.rest.hosts import check_hosts
    from gateway.slow_clients import header_protocol

    check_exposure(settings, host)
    settings = check_hosts(settings, host)
    check_audit_path(settings.audit)  # here too, for the workers that open the sink
    check_tls(settings.server)
    setup_logging(settings.observability.log_format, settings.server.log_level)
    server = settings.server
    scheme = "https" if server.tls_certfile else "http"
    tenants = ", ".join(settings.tenants)
    print(f"FHIR gateway on {scheme}://{host}:{port}/fhir/<tenant>/ — tenants: {tenants}", flush=True)
    options = dict(
        host=host,
        port=port,
        access_log=False,  # uvicorn's access log prints query strings, which carry PHI
        log_level=server.log_level,
        # X-Forwarded-For/-Proto are believed only from the configured proxies: the client's
        # address is then the one the audit trail and /metrics' network check see. (Links use
        # public_base_url when it is set, whatever the proxy says.)
        proxy_headers=bool(server.trusted_proxies),
        forwarded_allow_ips=",".join(server.trusted_proxies) or None,
        ssl_certfile=server.tls_certfile,
        ssl_keyfile=server.tls_keyfile,
        log_config=None,  # uvicorn's own lines go through the root logger's format (setup_logging)
        date_header=False,  # the gateway dates its answers itself (gateway.http_dates.date_now)
        # `Server: uvicorn` names the software and so its known flaws to anyone who asks; RFC
        # 9110 section 10.2.4 leaves the field out at the server's choice.
        server_header=False,
    )
    if server.workers > 1:
        from gateway.workers import serve_workers

        serve_workers(settings, installed_vendors(), installed_sandboxes(), **options)
        return 0
    uvicorn.run(
        create_app(settings, installed_vendors(), installed_sandboxes()),
        http=header_protocol(server.header_timeout),
        **options,  # type: ignore[arg-type]
    )
    return 0


def _program() -> str:
    """How this command was run, for a command line printed to be pasted back: the path of the
    `fhir-gateway` script when it was run by path (`.venv/bin/fhir-gateway`, not on PATH)."""
    invoked = sys.argv[0] if sys.argv else ""
    return shlex.quote(invoked) if Path(invoked).name == "fhir-gateway" else "fhir-gateway"


def _with_workers(settings: Settings, workers: int) -> Settings:
    """`--workers N` over `server.workers`, checked as if it were in the file."""
    from pydantic import ValidationError

    try:
        server = type(settings.server).model_validate({**settings.server.model_dump(), "workers": workers})
    except ValidationError as exc:
        problems = (str(error["msg"]).removeprefix("Value error, ") for error in exc.errors())
        raise ConfigError("; ".join(f"--workers: {problem}" for problem in problems)) from None
    return settings.model_copy(update={"server": server})


def check_tls(server: ServerSettings) -> None:
    """The certificate and key load together (uvicorn's own failure is a traceback at start)."""
    if server.tls_certfile is None or server.tls_keyfile is None:
        return
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(server.tls_certfile, server.tls_keyfile)
    except OSError as exc:  # ssl.SSLError is one too
        reason = exc.strerror or exc.__class__.__name__
        raise ConfigError(f"server.tls_certfile/tls_keyfile: cannot load the certificate and key: {reason}") from None


def _check(args: argparse.Namespace) -> int:
    from gateway.audit.sink import check_audit_path
    from gateway.auth.gate import check_exposure
    from gateway.errors import FHIRError
    from gateway.rest.hosts import check_hosts
    from gateway.upstream.token_store import TokenStore

    settings = _settings(args)
    # What `serve` refuses at start-up, on the configured host (`serve --host` may differ).
    check_exposure(settings, settings.server.host)
    check_hosts(settings, settings.server.host)
    check_audit_path(settings.audit)
    check_tls(settings.server)
    vendors = installed_vendors()
    store = TokenStore(Path(settings.server.token_store).expanduser(), token_keys(settings))
    for name, tenant in settings.tenants.items():
        where = "sandbox" if tenant.sandbox else tenant.base_url
        print(f"tenant {name}: vendor {tenant.vendor} at {where}")
        if vendors[tenant.vendor].oauth is not None and not tenant.sandbox:
            try:
                connected = store.load(name) is not None
            except (FHIRError, OSError):
                print(f"tenant {name}: its stored grant cannot be read: reconnect with `fhir-gateway connect {name}`")
                continue
            if not connected:
                print(f"tenant {name}: not connected to the vendor yet: run `fhir-gateway connect {name}`")
    return 0


def _connect(args: argparse.Namespace) -> int:
    import asyncio
    import dataclasses
    import sys
    import threading
    import webbrowser

    from gateway.connect import ConnectError, connect
    from gateway.shared import shared_state
    from gateway.tenant_config import adapter_config, resolve_credentials, shared_state_url
    from gateway.upstream.grants import grants_of
    from gateway.upstream.oauth import token_client

    settings = _settings(args)
    conf = settings.tenants.get(args.tenant)
    if conf is None:
        raise ConfigError(f"no tenant '{args.tenant}' in the configuration")
    vendor = installed_vendors()[conf.vendor]
    oauth = vendor.oauth
    if oauth is None:
        raise ConfigError(f"tenant '{args.tenant}' ({conf.vendor}) does not use OAuth: there is nothing to connect")
    if conf.sandbox:
        raise ConfigError(f"tenant '{args.tenant}' is a sandbox: it is connected automatically when the gateway starts")
    store_path = Path(settings.server.token_store).expanduser()
    config = adapter_config(
        args.tenant,
        conf,
        vendor,
        base_url=conf.base_url,
        options=conf.options,
        secrets=resolve_credentials(conf.credentials),
        token_store=store_path,
        token_keys=token_keys(settings),
    )
    app = oauth(config)

    async def run() -> None:
        token_http, post = token_client(app)

        async def approve(url: str) -> None:
            print(f"Open this address, sign in and approve access for tenant '{args.tenant}':\n\n  {url}\n", flush=True)
            if args.browser:
                webbrowser.open(url)

        async def paste() -> str:
            # A daemon thread: if the callback arrives first, the unanswered prompt must not
            # keep the process waiting for Enter (asyncio.to_thread would).
            loop = asyncio.get_running_loop()
            answer: asyncio.Future[str] = loop.create_future()

            def read() -> None:
                try:
                    line = input("Waiting for the redirect... or paste the redirected URL (or code): ")
                except EOFError:
                    return

                def deliver() -> None:
                    if not answer.done():
                        answer.set_result(line)

                loop.call_soon_threadsafe(deliver)

            threading.Thread(target=read, daemon=True).start()
            return await answer

        # Where the workers and replicas read the grant: the shared state too, when there is one.
        shared = shared_state(shared_state_url(settings), settings.server.shared_state_prefix)
        try:
            await connect(
                args.tenant,
                app,
                grants_of(dataclasses.replace(config, shared=shared)),
                post,
                approve,
                paste=paste if sys.stdin.isatty() or args.paste else None,
                timeout=args.timeout,
            )
        finally:
            await token_http.aclose()
            await shared.aclose()

    try:
        asyncio.run(run())
    except ConnectError as exc:
        print(f"connection failed: {exc}", file=sys.stderr)
        return 1
    print(f"tenant {args.tenant} connected; its refresh token is in {store_path / (args.tenant + '.json')} (mode 0600)")
    return 0


def _token(args: argparse.Namespace) -> int:
    from gateway.token_request import TokenRequestError, request_token

    try:
        print(request_token(args.url, args.client, Path(args.key), args.scope, args.kid))
    except (TokenRequestError, OSError, ValueError) as exc:
        print(f"no token: {exc}", file=sys.stderr)
        return 1
    return 0


def _port(text: str) -> int:
    """A TCP port, 0-65535 (0: any free one), as server.port takes it: past it, uvicorn started
    nothing and said nothing."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535)")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The command line: the verbs, their options and each one's help."""
    config_help = "TOML config file (default: $FHIR_GATEWAY_CONFIG, else the demo)"
    parser = argparse.ArgumentParser(prog="fhir-gateway", description="FHIR R4 facade gateway")
    parser.add_argument("--config", help=config_help)
    # The same option after the verb (`fhir-gateway serve --config FILE`); SUPPRESS keeps a
    # value given before the verb when none is given after it.
    after_verb = argparse.ArgumentParser(add_help=False)
    after_verb.add_argument("--config", default=argparse.SUPPRESS, help=config_help)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", parents=[after_verb], help="run the gateway")
    serve.add_argument("--host", help="the address to listen on (default: server.host, 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="the port to listen on (default: server.port, 8080)")
    serve.add_argument(
        "--workers", type=int, help="processes serving the port (more than one needs server.shared_state: Redis)"
    )
    serve.add_argument(
        "--smart-demo", action="store_true", help="the demo behind SMART auth, with a generated backend-services client"
    )
    serve.set_defaults(run=_serve)
    check = sub.add_parser("check-config", parents=[after_verb], help="validate the config and list tenants")
    check.add_argument("file", nargs="?", help="the config file (same as --config)")
    check.set_defaults(run=_check)
    link = sub.add_parser(
        "connect",
        parents=[after_verb],
        help="connect an OAuth tenant (authorization code flow) and store its refresh token",
    )
    link.add_argument("tenant", help="the name in the config of a tenant whose vendor connects with OAuth")
    link.add_argument("--browser", action="store_true", help="also open the authorize address in a browser")
    link.add_argument("--paste", action="store_true", help="accept the redirected URL or code on standard input")
    link.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the authorization")
    link.set_defaults(run=_connect)
    token = sub.add_parser("token", help="get an access token from a gateway's token endpoint (backend services)")
    token.add_argument(
        "--url",
        required=True,
        help="the gateway's root URL, e.g. http://127.0.0.1:8080, or its token endpoint (…/auth/token)",
    )
    token.add_argument("--client", required=True, help="the registered client id")
    token.add_argument("--key", required=True, help="the client's private key (PEM)")
    token.add_argument("--scope", default="system/*.rs", help="the scopes asked for (default: system/*.rs)")
    token.add_argument("--kid", help="the key's id in the client's JWKS, when it has several")
    token.set_defaults(run=_token)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "file", None):
        if args.config and args.config != args.file:
            parser.error("check-config: give the config file once (FILE or --config FILE)")
        args.config = args.file
    try:
        result: int = args.run(args)
        return result
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
