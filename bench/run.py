"""Gateway vs. raw passthrough proxy, measured in the same run over the same sandbox (DESIGN §11).

    .venv/bin/python -m bench.run [--duration 3] [--rounds 3] [--connections 16] [--quick]
                                  [--out results.json] [--profile DIR]

Three servers, each its own process (uvicorn, one worker, uvloop + httptools, no access log):
the Dental PMS sandbox, the gateway (a generated TOML config, `sandbox = false`, credentials
from the environment) and bench.passthrough. The gateway and the proxy share one core; the
sandbox and this process (the load generator) share the other. Each request kind is measured
for the proxy and the gateway in turn, round after round (throughput at N connections, then
latency at 1 connection), and the medians are compared as ratios: the machine is shared and
noisy, so absolute numbers drift but ratios from the same run hold.

Exit status: 0 if every request was answered 200; 1 if any failed or was not 200; 2 if the
set-up failed (a server did not start, or an answer did not have the expected shape).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import uvloop

from bench.loadgen import LoadResult, run_load

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TENANT = "dentalpms"
ORG_ID = "bench-org"
API_TOKEN = "bench-dentalpms-token-2f6c1d0e9a"  # fixed: runs are reproducible
PAGING_SECRET = "bench-paging-secret-7b3e54a1c8"
TOKEN_ENV = "BENCH_DENTALPMS_TOKEN"
PAGING_ENV = "BENCH_PAGING_SECRET"
N_PATIENTS = 32
OBSERVATION_COUNT = 20
START_TIMEOUT = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


class SetupError(Exception):
    """The benchmark could not be set up; nothing was measured."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM: stop at the next request and clean up."""


class StopFlag:
    """SIGINT/SIGTERM handler: the load generator polls it before each request.

    A flag rather than a KeyboardInterrupt thrown at an arbitrary point (or asyncio's task
    cancellation, which aiohttp can swallow): the run stops within one request, at a point of
    our choosing, and the `finally` in main() stops the servers.
    """

    def __init__(self) -> None:
        self.raised = False

    def __call__(self, signum: int, frame: Any) -> None:
        self.raised = True

    def is_set(self) -> bool:
        return self.raised

    def check(self) -> None:
        if self.raised:
            raise Interrupted


STOP = StopFlag()


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    profile_prefix: Path | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads) so far."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return float("nan")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def start_server(
    role: str, workdir: Path, *, cpu: int | None, env: dict[str, str], args: list[str] | None = None
) -> Server:
    """Bind a free loopback port here, then hand the listening socket to `bench.serve ROLE`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    command = [sys.executable, "-m", "bench.serve", role, "--fd", str(sock.fileno()), "--parent", str(os.getpid())]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    command += args or []
    child_env = {**os.environ, **env}
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    log = workdir / f"{role}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=REPO, env=child_env, pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT
        )
    sock.close()  # the child holds the listening socket now
    return Server(role, proc, port, log)


async def wait_ready(server: Server, path: str, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while True:
            if server.proc.poll() is not None:
                raise SetupError(f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}")
            try:
                async with session.get(server.url + path, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        return
                    raise SetupError(f"{server.name} answered {path} with HTTP {response.status}:\n{server.log_tail()}")
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"{server.name} did not start within {START_TIMEOUT:.0f}s:\n{server.log_tail()}")
            STOP.check()
            await asyncio.sleep(0.05)


def gateway_config(sandbox: Server, path: Path) -> None:
    path.write_text(
        f"""# Generated by bench/run.py: the gateway in front of the sandbox as if it were the vendor.
[server]
host = "{HOST}"
port = 0
paging_secret = "env:{PAGING_ENV}"
log_level = "warning"

[paging]
default_count = 20
max_count = 100

[tenants.{TENANT}]
vendor = "dentalpms"
sandbox = false
base_url = "{sandbox.url}/api/v1"
timezone = "America/Chicago"
options = {{ org_id = "{ORG_ID}" }}
credentials = {{ api_token = "env:{TOKEN_ENV}" }}
"""
    )


# --------------------------------------------------------------------------- workload


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    paths: tuple[str, ...]  # cycled by the load generator


def workload() -> tuple[list[Kind], list[str], str]:
    """The two request kinds over real clinic patients: (kinds, patient ids, many-vitals id)."""
    from mappings.sandbox.clinic import build_clinic

    clinic = build_clinic()
    ids = [str(p.uuid) for p in clinic.patients if not p.deleted][:N_PATIENTS]
    vitals = str(clinic.awkward_patient("many_vitals").uuid)
    kinds = [
        Kind("patient_read", f"Patient/{{id}} (cycling over {len(ids)} patients)", tuple(
            f"/fhir/{TENANT}/Patient/{pid}" for pid in ids
        )),
        Kind("observation_search", f"Observation?patient=<many_vitals>&_count={OBSERVATION_COUNT}", (
            f"/fhir/{TENANT}/Observation?patient={vitals}&_count={OBSERVATION_COUNT}",
        )),
    ]  # fmt: skip
    return kinds, ids, vitals


async def validate(gateway: Server, proxy: Server, kinds: list[Kind], patient_id: str) -> dict[str, dict[str, int]]:
    """Check that both servers answer each kind with the expected shape; return body sizes."""
    sizes: dict[str, dict[str, int]] = {}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def get(server: Server, path: str) -> tuple[Any, int]:
            async with session.get(server.url + path) as response:
                body = await response.read()
                if response.status != 200:
                    raise SetupError(f"{server.name} GET {path}: HTTP {response.status}: {body[:300]!r}")
                return json.loads(body), len(body)

        for kind in kinds:
            for path in kind.paths:
                g, g_size = await get(gateway, path)
                p, p_size = await get(proxy, path)
                if kind.key == "patient_read":
                    want = path.rsplit("/", 1)[1]
                    if g.get("resourceType") != "Patient" or g.get("id") != want:
                        raise SetupError(f"gateway {path}: not Patient/{want}")
                    if p.get("id") != want:
                        raise SetupError(f"proxy {path}: not the vendor record of {want}")
                else:
                    entries = g.get("entry") or []
                    if g.get("resourceType") != "Bundle" or len(entries) != OBSERVATION_COUNT:
                        raise SetupError(f"gateway {path}: a Bundle of {len(entries)} entries, not {OBSERVATION_COUNT}")
                    if any(e["resource"]["resourceType"] != "Observation" for e in entries):
                        raise SetupError(f"gateway {path}: a Bundle entry is not an Observation")
                    if len(p.get("items") or []) != OBSERVATION_COUNT:
                        raise SetupError(f"proxy {path}: not {OBSERVATION_COUNT} vendor readings")
                sizes.setdefault(kind.key, {"gateway": g_size, "proxy": p_size})
    return sizes


# --------------------------------------------------------------------------- measuring


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    cpu_us_per_req: float  # CPU of the measured server process, per request
    server_core_busy: float  # that process's CPU seconds per wall second
    driver_core_busy: float  # sandbox + load generator CPU seconds per wall second


@dataclass
class Tally:
    failures: int = 0
    samples: list[str] = field(default_factory=list)

    def add(self, result: LoadResult) -> None:
        self.failures += result.failures
        self.samples.extend(result.samples[: max(0, 5 - len(self.samples))])


async def measure(
    target: Server, sandbox: Server, kind: Kind, *, connections: int, duration: float, tally: Tally
) -> Sample:
    urls = [target.url + path for path in kind.paths]
    target_cpu, sandbox_cpu, own_cpu = target.cpu_seconds(), sandbox.cpu_seconds(), time.process_time()
    wall = time.perf_counter()
    result = await run_load(
        urls,
        connections=connections,
        duration=duration,
        max_requests=max(1000, int(duration * 50_000)),
        stop=STOP.is_set,
    )
    STOP.check()
    wall = time.perf_counter() - wall
    target_cpu = target.cpu_seconds() - target_cpu
    driver_cpu = sandbox.cpu_seconds() - sandbox_cpu + time.process_time() - own_cpu
    tally.add(result)
    for server in (target, sandbox):
        if server.proc.poll() is not None:
            raise SetupError(f"{server.name} exited with {server.proc.returncode} under load:\n{server.log_tail()}")
    return Sample(
        rps=result.rps,
        p50_ms=result.percentile(0.50),
        p99_ms=result.percentile(0.99),
        requests=result.requests,
        cpu_us_per_req=target_cpu / max(1, result.requests + connections) * 1e6,
        server_core_busy=target_cpu / wall,
        driver_core_busy=driver_cpu / wall,
    )


def summarize(throughput: list[Sample], latency: list[Sample]) -> dict[str, float]:
    med = statistics.median
    return {
        "rps": med(s.rps for s in throughput),
        "p50_ms": med(s.p50_ms for s in latency),
        "p99_ms": med(s.p99_ms for s in latency),
        "cpu_us_per_req": med(s.cpu_us_per_req for s in throughput),
        "server_core_busy": med(s.server_core_busy for s in throughput),
        "driver_core_busy": med(s.driver_core_busy for s in throughput),
    }


async def benchmark(
    servers: dict[str, Server], kinds: list[Kind], args: argparse.Namespace, tally: Tally
) -> dict[str, Any]:
    sandbox, order = servers["sandbox"], [servers["proxy"], servers["gateway"]]
    warmup = min(1.0, args.duration)
    for kind in kinds:
        for target in order:
            await measure(target, sandbox, kind, connections=args.connections, duration=warmup, tally=tally)
            await measure(target, sandbox, kind, connections=1, duration=warmup / 2, tally=tally)
    raw: dict[str, dict[str, dict[str, list[Sample]]]] = {
        k.key: {t.name: {"throughput": [], "latency": []} for t in order} for k in kinds
    }
    for round_no in range(args.rounds):
        for kind in kinds:
            for target in order:
                samples = raw[kind.key][target.name]
                samples["throughput"].append(
                    await measure(
                        target, sandbox, kind, connections=args.connections, duration=args.duration, tally=tally
                    )
                )
                samples["latency"].append(
                    await measure(target, sandbox, kind, connections=1, duration=args.duration, tally=tally)
                )
        print(f"  round {round_no + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    results: dict[str, Any] = {}
    for kind in kinds:
        per = {t.name: summarize(**raw[kind.key][t.name]) for t in order}
        g, p = per["gateway"], per["proxy"]
        paired = [
            gs.rps / ps.rps
            for gs, ps in zip(raw[kind.key]["gateway"]["throughput"], raw[kind.key]["proxy"]["throughput"], strict=True)
        ]
        results[kind.key] = {
            "label": kind.label,
            "proxy": p,
            "gateway": g,
            "ratio": {
                "rps": g["rps"] / p["rps"],
                "p50": g["p50_ms"] / p["p50_ms"],
                "p99": g["p99_ms"] / p["p99_ms"],
                "cpu_per_req": g["cpu_us_per_req"] / p["cpu_us_per_req"],
                "rps_per_round": paired,
            },
            "gateway_extra_cpu_us_per_req": g["cpu_us_per_req"] - p["cpu_us_per_req"],
            "rounds": {
                t.name: {mode: [vars(s) for s in ss] for mode, ss in raw[kind.key][t.name].items()} for t in order
            },
        }
    return results


# --------------------------------------------------------------------------- profiling


async def profile(
    servers: dict[str, Server], kinds: list[Kind], args: argparse.Namespace, tally: Tally
) -> dict[str, Any]:
    """cProfile the gateway (and the proxy, for comparison) under load, one kind at a time."""
    sandbox = servers["sandbox"]
    out: dict[str, Any] = {}
    for kind in kinds:
        for name in ("proxy", "gateway"):
            target = servers[name]
            assert target.profile_prefix is not None
            await measure(target, sandbox, kind, connections=args.connections, duration=1.0, tally=tally)
            stats_file = Path(f"{target.profile_prefix}-{kind.key}.prof")
            Path(f"{target.profile_prefix}.prof").unlink(missing_ok=True)
            target.proc.send_signal(signal.SIGUSR1)
            await asyncio.sleep(0.2)
            sample = await measure(
                target, sandbox, kind, connections=args.connections, duration=args.duration * args.rounds, tally=tally
            )
            target.proc.send_signal(signal.SIGUSR2)
            dumped = Path(f"{target.profile_prefix}.prof")  # written whole, then renamed, by the child
            for _ in range(100):
                await asyncio.sleep(0.1)
                if dumped.exists():
                    break
            else:
                raise SetupError(f"{name} wrote no profile:\n{target.log_tail()}")
            dumped.replace(stats_file)
            # the profiled window also holds the requests that opened the connections
            out[f"{name}:{kind.key}"] = {"file": str(stats_file), "requests": sample.requests + args.connections}
    return out


def print_profile(path: Path, requests: int, title: str, limit: int = 25) -> None:
    stats = pstats.Stats(str(path))
    entries = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    print(f"\n### {title}: {requests} requests, {total / max(1, requests) * 1e6:.0f} µs profiled CPU per request")

    def where(func: tuple[str, int, str]) -> str:
        filename, line, name = func
        for root in (str(REPO) + os.sep, str(Path(sys.prefix)) + os.sep):
            if filename.startswith(root):
                filename = filename[len(root) :]
        return f"{filename}:{line}({name})"

    rows = sorted(entries.items(), key=lambda kv: kv[1][2], reverse=True)
    print("(cProfile inflates call-heavy code; a coroutine counts one call per resumption)")
    print(f"{'own µs/req':>10} {'cum µs/req':>10} {'calls/req':>9}  function (by own time)")
    for func, (_, ncalls, tt, ct, _) in rows[:limit]:
        print(f"{tt / requests * 1e6:10.1f} {ct / requests * 1e6:10.1f} {ncalls / requests:9.1f}  {where(func)}")
    ours = [
        (func, v) for func, v in entries.items() if func[0].startswith(str(REPO / "gateway")) or
        func[0].startswith(str(REPO / "mappings"))
    ]  # fmt: skip
    print(f"\n{'own µs/req':>10} {'cum µs/req':>10} {'calls/req':>9}  our code (gateway/, mappings/), by cumulative")
    for func, (_, ncalls, tt, ct, _) in sorted(ours, key=lambda kv: kv[1][3], reverse=True)[:limit]:
        print(f"{tt / requests * 1e6:10.1f} {ct / requests * 1e6:10.1f} {ncalls / requests:9.1f}  {where(func)}")


# --------------------------------------------------------------------------- output


def versions() -> dict[str, str]:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for name in ("uvicorn", "starlette", "aiohttp", "uvloop", "httptools", "orjson"):
        try:
            out[name] = version(name)
        except Exception:
            out[name] = "?"
    return out


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        return "?"


def print_tables(params: dict[str, Any], results: dict[str, Any], sizes: dict[str, dict[str, int]]) -> None:
    conns = params["connections"]
    print()
    print(
        f"Gateway vs. passthrough proxy — {params['rounds']} round(s) x {params['duration']:g}s, "
        f"medians; rev {params['git']}, {params['started']}"
    )
    print(
        f"pinning: gateway/proxy on core {params['server_core']}, sandbox + load generator on core "
        f"{params['driver_core']}; uvicorn 1 worker, uvloop + httptools; gateway AccessLog middleware "
        f"{'on' if params['gateway_access_middleware'] else 'off'}"
    )
    for key, r in results.items():
        size = sizes.get(key, {})
        print()
        print(
            f"{r['label']} — response {size.get('proxy', 0):,} B (proxy, vendor JSON) / "
            f"{size.get('gateway', 0):,} B (gateway, FHIR)"
        )
        header = f"{'':15}{f'req/s @{conns}':>12}{'p50 ms @1':>12}{'p99 ms @1':>12}{'CPU µs/req':>12}{'core busy':>11}"
        print(header)
        print("-" * len(header))
        for name in ("proxy", "gateway"):
            s = r[name]
            print(
                f"{name:15}{s['rps']:12,.0f}{s['p50_ms']:12.2f}{s['p99_ms']:12.2f}"
                f"{s['cpu_us_per_req']:12,.0f}{s['server_core_busy']:10.0%} "
            )
        q = r["ratio"]
        print(f"{'gateway/proxy':15}{q['rps']:11.2f}x{q['p50']:11.2f}x{q['p99']:11.2f}x{q['cpu_per_req']:11.2f}x")
        per_round = ", ".join(f"{x:.2f}" for x in q["rps_per_round"])
        print(
            f"  gateway costs {r['gateway_extra_cpu_us_per_req']:,.0f} µs CPU/req more than the proxy; "
            f"req/s ratio per round: {per_round}; core of sandbox + load generator busy "
            f"{r['proxy']['driver_core_busy']:.0%} (proxy) / {r['gateway']['driver_core_busy']:.0%} (gateway)"
        )


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections for req/s (default 16)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 1 s")
    parser.add_argument("--out", help="also write the results as JSON to this file")
    parser.add_argument(
        "--no-access-middleware",
        action="store_true",
        help="build the gateway with create_app(access_logging=False) (default: as `fhir-gateway serve` does)",
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="instead of the comparison, cProfile both servers under load and print where the time goes",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.rounds = 1.0, 1
    if args.duration <= 0 or args.rounds < 1 or not 1 <= args.connections <= 512:
        parser.error("need --duration > 0, --rounds >= 1 and 1 <= --connections <= 512")
    return args


def cores() -> tuple[int | None, int | None]:
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        print("warning: fewer than 2 cores available; not pinning", file=sys.stderr)
        return None, None
    return available[0], available[1]


@contextmanager
def stop_on_signals() -> Iterator[None]:
    previous = {sig: signal.signal(sig, STOP) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server_core, driver_core = cores()
    if driver_core is not None:
        os.sched_setaffinity(0, {driver_core})
    kinds, patient_ids, vitals_patient = workload()
    params: dict[str, Any] = {
        "duration": args.duration,
        "rounds": args.rounds,
        "connections": args.connections,
        "warmup_s": min(1.0, args.duration),
        "server_core": server_core,
        "driver_core": driver_core,
        "gateway_access_middleware": not args.no_access_middleware,
        "patients": len(patient_ids),
        "many_vitals_patient": vitals_patient,
        "observation_count": OBSERVATION_COUNT,
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_revision(),
        "versions": versions(),
    }
    servers: dict[str, Server] = {}
    tally = Tally()
    runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    profile_dir = Path(args.profile).resolve() if args.profile else None
    try:
        with stop_on_signals(), tempfile.TemporaryDirectory(prefix="fhir-bench-") as tmp:
            workdir = Path(tmp)
            secrets = {TOKEN_ENV: API_TOKEN, "BENCH_ORG_ID": ORG_ID}
            servers["sandbox"] = start_server("sandbox", workdir, cpu=driver_core, env=secrets)
            runner.run(
                wait_ready(
                    servers["sandbox"],
                    f"/api/v1/{ORG_ID}/patients/{patient_ids[0]}",
                    {"Authorization": f"Bearer {API_TOKEN}"},
                )
            )
            config = workdir / "gateway.toml"
            gateway_config(servers["sandbox"], config)
            no_access = ["--no-access-middleware"] if args.no_access_middleware else []
            extra: dict[str, list[str]] = {
                "gateway": ["--config", str(config), *no_access],
                "proxy": ["--vendor-base", f"{servers['sandbox'].url}/api/v1"],
            }
            if profile_dir:
                profile_dir.mkdir(parents=True, exist_ok=True)
            for role, env in (("proxy", secrets), ("gateway", {**secrets, PAGING_ENV: PAGING_SECRET})):
                role_args = extra[role]
                if profile_dir:
                    role_args = [*role_args, "--profile", str(profile_dir / f"{role}.prof")]
                servers[role] = start_server(role, workdir, cpu=server_core, env=env, args=role_args)
                if profile_dir:
                    servers[role].profile_prefix = profile_dir / role
            runner.run(wait_ready(servers["gateway"], "/healthz"))
            runner.run(wait_ready(servers["proxy"], "/healthz"))
            sizes = runner.run(validate(servers["gateway"], servers["proxy"], kinds, patient_ids[0]))

            if profile_dir:
                profiled = runner.run(profile(servers, kinds, args, tally))
                for label, info in profiled.items():
                    print_profile(Path(info["file"]), info["requests"], label)
            else:
                print(
                    f"measuring: {len(kinds)} kinds x proxy/gateway x {args.rounds} round(s) x "
                    f"({args.duration:g}s @{args.connections} + {args.duration:g}s @1) ...",
                    file=sys.stderr,
                    flush=True,
                )
                results = runner.run(benchmark(servers, kinds, args, tally))
                print_tables(params, results, sizes)
                document = {"parameters": params, "response_bytes": sizes, "results": results}
                if args.out:
                    out = Path(args.out)
                    out.parent.mkdir(parents=True, exist_ok=True)
                    out.write_text(json.dumps(document, indent=2) + "\n")
                    print(f"\nwrote {out}")
    except SetupError as exc:
        if STOP.is_set():
            print("interrupted: servers stopped, nothing reported", file=sys.stderr)
            return 130
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    except (Interrupted, KeyboardInterrupt):
        print("interrupted: servers stopped, nothing reported", file=sys.stderr)
        return 130
    finally:
        for server in reversed(list(servers.values())):
            server.stop()
        runner.close()
    if tally.failures:
        print(f"\nFAILED: {tally.failures} request(s) failed or were not 200, e.g.:", file=sys.stderr)
        for sample in tally.samples:
            print(f"  {sample}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
