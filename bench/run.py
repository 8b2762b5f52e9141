"""Gateway vs. raw passthrough proxy, measured in the same run over the same sandbox.

    .venv/bin/python -m bench.run [--duration 3] [--rounds 3] [--connections 16] [--quick]
                                  [--out results.json] [--profile DIR] [--kinds KIND ...]
                                  [--memory-requests 100000] [--memory-connections 64] [--no-wrk]

Three servers, each its own process (uvicorn, one worker, uvloop + httptools, no access log):
the Dental PMS sandbox, the gateway (a generated TOML config, `sandbox = false`, credentials
from the environment) and bench.passthrough. The gateway and the proxy share one core; the
sandbox and the load generator share the other. Each request kind is measured
for the proxy and the gateway in turn, round after round (throughput at N connections, then
latency at 1 connection), and the medians are compared as ratios: the machine is shared and
noisy, so absolute numbers drift but ratios from the same run hold. Where wrk is installed, the
runs go through it (bench.wrk): the Python load generator (bench.loadgen) costs the shared core
about as much CPU per request as the proxy does, and its own share of a p50 is most of the
cache-hit goal. bench.loadgen still drives what must wait for every answer it asked for (one
more run of the gateway at 128 connections, whose goal is no failed request, and `memory`);
`--no-wrk` all of it.

Two kinds compare other things: `patient_read_2w` the gateway run by its own command line with
two workers against one (a private redis-server holds their shared state), and `memory` (only
when named in --kinds) the gateway's RSS after 100k and 200k mixed requests.

Starting and stopping the servers is bench.servers, the requests bench.workload, the rounds
bench.measure, the tables and the JSON bench.report; this module is the command line.

Exit status: 0 if no request failed: every request counted was answered 200 (wrk does not see
the answers to the requests in flight when it stops, and at one connection counts only
answers of 400 and more); 1 if any failed; 2 if the set-up failed (a server did not start,
or an answer did not have the expected shape).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as `python bench/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvloop

from bench import wrk
from bench.control import STOP, Interrupted, SetupError, stop_on_signals
from bench.goals import goals
from bench.measure import Tally, benchmark, floor_p50_ms, memory, profile
from bench.report import print_failures, print_goals, print_profile, print_tables, run_parameters, write_json
from bench.servers import Server, cores, start_servers, workers_cores
from bench.workload import MEMORY_REQUESTS, validate, workload


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per measurement (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections for req/s (default 32)")
    parser.add_argument(
        "--kinds", nargs="+", metavar="KIND", help="measure only these kinds (default: all but memory; bench/README.md)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 round of 1 s")
    parser.add_argument(
        "--memory-requests",
        type=int,
        default=MEMORY_REQUESTS,
        help=f"memory kind: RSS read after this many mixed requests and twice as many (default {MEMORY_REQUESTS:,})",
    )
    parser.add_argument(
        "--memory-connections", type=int, default=64, help="memory kind: concurrent connections (default 64)"
    )
    parser.add_argument("--out", help="also write the results as JSON to this file")
    parser.add_argument(
        "--no-access-middleware",
        action="store_true",
        help="build the gateway with create_app(access_logging=False) (default: as `fhir-gateway serve` does)",
    )
    parser.add_argument(
        "--no-wrk",
        action="store_true",
        help="drive every run with the Python load generator (bench.loadgen) even where wrk is installed",
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
    if not 1 <= args.memory_connections <= 512 or args.memory_requests < 10 * args.memory_connections:
        parser.error("need 1 <= --memory-connections <= 512 and --memory-requests >= 10x that")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server_core, driver_core = cores()
    if driver_core is not None:
        os.sched_setaffinity(0, {driver_core})
    chosen = workload()
    unknown = set(args.kinds or ()) - {k.key for k in chosen.kinds}
    if unknown:
        print(f"unknown kind(s): {', '.join(sorted(unknown))}; known: {', '.join(k.key for k in chosen.kinds)}")
        return 2
    kinds = [k for k in chosen.kinds if (k.key in args.kinds if args.kinds else k.default)]
    wrk_path = None if args.no_wrk else wrk.installed()
    params = run_parameters(
        duration=args.duration,
        rounds=args.rounds,
        connections=args.connections,
        server_core=server_core,
        driver_core=driver_core,
        access_middleware=not args.no_access_middleware,
        patients=len(chosen.patient_ids),
        many_vitals_patient=chosen.many_vitals,
        load_generator=(
            f"wrk {wrk.version(wrk_path)} (bench.loadgen where every answer is waited for: "
            "one more gateway run of patient_read_wide, memory)"
            if wrk_path
            else "bench.loadgen"
        ),
    )
    servers: dict[str, Server] = {}
    tally = Tally()
    runner = asyncio.Runner(loop_factory=uvloop.new_event_loop)
    profile_dir = Path(args.profile).resolve() if args.profile else None
    if profile_dir:  # cProfile compares the proxy with the one-process gateway only
        kinds = [k for k in kinds if k.mode == "compare" and k.sides[0][1] == "proxy"]
    workers = "patient_read_2w" in {k.key for k in kinds}
    memory_kind = next((k for k in kinds if k.mode == "memory"), None)
    started = time.monotonic()
    try:
        with stop_on_signals(), tempfile.TemporaryDirectory(prefix="fhir-bench-") as tmp:
            start_servers(
                servers,
                Path(tmp),
                runner,
                patient_id=chosen.patient_ids[0],
                server_core=server_core,
                driver_core=driver_core,
                access_middleware=not args.no_access_middleware,
                profile_dir=profile_dir,
                workers=workers,
            )
            sizes = runner.run(validate(servers, kinds))
            if profile_dir:
                profiled = runner.run(
                    profile(
                        servers,
                        kinds,
                        connections=args.connections,
                        duration=args.duration * args.rounds,
                        tally=tally,
                    )
                )
                for label, info in profiled.items():
                    print_profile(Path(info["file"]), info["requests"], label)
            else:
                results = runner.run(
                    benchmark(
                        servers,
                        kinds,
                        connections=args.connections,
                        duration=args.duration,
                        rounds=args.rounds,
                        tally=tally,
                        wrk=wrk_path,
                    )
                )
                if workers:
                    results["patient_read_2w"]["cores"] = workers_cores(server_core, driver_core)
                if "patient_read_cached" in results:
                    results["patient_read_cached"]["floor_p50_ms"] = runner.run(
                        floor_p50_ms(
                            servers["proxy"], servers["sandbox"], duration=args.duration, tally=tally, wrk=wrk_path
                        )
                    )
                if memory_kind is not None:
                    results[memory_kind.key] = runner.run(
                        memory(
                            servers["gateway"],
                            memory_kind,
                            requests=args.memory_requests,
                            connections=args.memory_connections,
                            tally=tally,
                        )
                    )
                params["elapsed_s"] = round(time.monotonic() - started, 1)
                print_tables(params, results, sizes)
                verdicts = goals(results, sizes)
                print_goals(verdicts)
                if args.out:
                    write_json(Path(args.out), params, sizes, results)
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
        print_failures(tally)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
