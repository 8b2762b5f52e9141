"""One server's ASGI app driven in this process, for one request kind: its own work per request.

    .venv/bin/python -m bench.inproc KIND {gateway|proxy} REQUESTS

The vendor simulators run in processes of their own (`bench.serve`, as `bench.run` starts them);
the app (the gateway as `fhir-gateway serve` builds it, or the passthrough proxy) is called
directly with ASGI messages, with no HTTP server in front: what is left is the app's work, the
part the gateway adds to a proxy's. After `WARM_UP` requests of the kind (which fill pools and
caches), it makes REQUESTS more, each checked to be answered 200, cycling over the kind's paths
as the load generator does. `bench.instructions` counts the instructions of two such runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import uvloop

from bench import servers as S
from bench.control import SetupError
from bench.serve import _gateway, _proxy
from bench.workload import PROXY_AND_GATEWAY, Kind, Workload, workload

WARM_UP = 100
SERVERS = ("gateway", "proxy")
Receive = Callable[[], Awaitable[Any]]
Send = Callable[[Any], Awaitable[None]]
ASGIApp = Callable[[dict[str, Any], Receive, Send], Coroutine[Any, Any, None]]


class NotAnswered(Exception):
    """A request of the kind was not answered 200: the count would be of something else."""


async def drive(app: ASGIApp, kind: Kind, requests: int, warm_up: int = WARM_UP) -> int:
    """Run the app's lifespan, then `warm_up` + `requests` requests of `kind`; how many were made."""
    startup: asyncio.Queue[Any] = asyncio.Queue()
    events: asyncio.Queue[Any] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan_scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan: asyncio.Task[None] = asyncio.create_task(app(lifespan_scope, startup.get, events.put))
    started = await events.get()
    if started["type"] != "lifespan.startup.complete":
        raise NotAnswered(f"the app did not start: {started}")
    headers = [(b"host", b"127.0.0.1:8000"), *[(k.lower().encode(), v.encode()) for k, v in kind.headers]]
    for index in range(warm_up + requests):
        path = kind.paths[index % len(kind.paths)]
        status = await _one(app, path, headers)
        if status != 200:
            raise NotAnswered(f"{kind.key}: {path.split('?')[0]} answered {status}")
    await startup.put({"type": "lifespan.shutdown"})
    await lifespan
    return requests


async def _one(app: ASGIApp, target: str, headers: list[tuple[bytes, bytes]]) -> int:
    path, _, query = target.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": "GET",
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": headers,
        "state": {},
    }
    asked = False
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client stays: nothing more arrives
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0] if status else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inproc", description=__doc__.split("\n\n")[0])
    parser.add_argument("kind")
    parser.add_argument("server", choices=SERVERS)
    parser.add_argument("requests", type=int)
    parser.add_argument("--warm-up", type=int, default=WARM_UP, help="requests made first, not counted")
    args = parser.parse_args(argv)
    work = workload()
    kind = next((k for k in work.kinds if k.key == args.kind), None)
    if kind is None or kind.key not in compared(work):
        parser.error(f"{args.kind}: not a kind compared with the proxy ({', '.join(compared(work))})")
    secrets = {S.TOKEN_ENV: S.API_TOKEN, S.ORG_ENV: S.ORG_ID, S.NEXHEALTH_KEY_ENV: S.NEXHEALTH_KEY}
    os.environ.update({**secrets, S.PAGING_ENV: S.PAGING_SECRET})
    # The gateway's audit lines go to standard output: written, as a deployment writes them, and
    # dropped here (the one line this prints goes to standard error).
    sys.stdout.flush()
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    started: dict[str, S.Server] = {}
    runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    with tempfile.TemporaryDirectory() as tmp, runner:
        workdir = Path(tmp)
        try:
            started["sandbox"] = S.start_server("sandbox", workdir, cpu=None, env=secrets)
            started[S.NEXHEALTH] = S.start_server(S.NEXHEALTH, workdir, cpu=None, env=secrets)
            auth = {"Authorization": f"Bearer {S.API_TOKEN}"}
            runner.run(S.wait_ready(started["sandbox"], f"/api/v1/{S.ORG_ID}/patients/{work.patient_ids[0]}", auth))
            runner.run(S.wait_ready(started[S.NEXHEALTH], S.COUNTER_PATH))
            if args.server == "gateway":
                config = workdir / "gateway.toml"
                S.gateway_config(started["sandbox"], config, started[S.NEXHEALTH])
                app, _ = _gateway(str(config), access_middleware=True)
            else:
                app = _proxy(f"{started['sandbox'].url}/api/v1", started[S.NEXHEALTH].url)
            made = runner.run(drive(app, kind, args.requests, args.warm_up))
        except (NotAnswered, SetupError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        finally:
            for server in started.values():
                server.stop()
    print(f"{args.kind} {args.server}: {made} requests after {args.warm_up} to warm up", file=sys.stderr)
    return 0


def compared(work: Workload) -> list[str]:
    """The kinds measured against the proxy (the others compare other things, or run apart)."""
    return [k.key for k in work.kinds if k.mode == "compare" and k.sides == PROXY_AND_GATEWAY]


if __name__ == "__main__":
    sys.exit(main())
