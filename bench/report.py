"""What a run prints and writes: the comparison tables, the `--out` JSON, profiles, failures.

The JSON document is `{"parameters": ..., "response_bytes": ..., "results": ..., "goals": ...}`,
with `results.<kind>.{proxy,gateway}` holding `rps`, `p50_ms`, `p99_ms`, `cpu_us_per_req` (and
the core-busy shares and `vendor_calls_per_req`), `results.<kind>.ratio` the gateway/proxy
ratios, and every round's raw samples under `results.<kind>.rounds`; `goals` lists each goal
of bench.goals with its verdict. Scripts read it: keep it stable (add, never rename).
"""

from __future__ import annotations

import json
import os
import platform
import pstats
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.goals import Goal, goals, per_entry
from bench.measure import Tally, warmup_seconds
from bench.servers import REPO
from bench.workload import OBSERVATION_COUNT


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


def run_parameters(
    *,
    duration: float,
    rounds: int,
    connections: int,
    server_core: int | None,
    driver_core: int | None,
    access_middleware: bool,
    patients: int,
    many_vitals_patient: str,
    load_generator: str = "bench.loadgen",
) -> dict[str, Any]:
    """`parameters` of the JSON document (and the header of the tables): how this run was made."""
    return {
        "duration": duration,
        "rounds": rounds,
        "connections": connections,
        "warmup_s": warmup_seconds(duration),
        "server_core": server_core,
        "driver_core": driver_core,
        "gateway_access_middleware": access_middleware,
        "patients": patients,
        "many_vitals_patient": many_vitals_patient,
        "observation_count": OBSERVATION_COUNT,
        "load_generator": load_generator,  # what drove the runs: wrk (bench.wrk) or bench.loadgen
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "git": git_revision(),
        "versions": versions(),
    }


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
        f"{'on' if params['gateway_access_middleware'] else 'off'}; load generator "
        f"{params.get('load_generator', 'bench.loadgen')}"
    )
    for key, r in results.items():
        if "rss_mb_100k" in r.get("gateway", {}):
            _print_memory(r)
            continue
        size = sizes.get(key, {})
        base = r.get("baseline", "proxy")
        names = (
            {"proxy": "proxy", "gateway": "gateway"} if base == "proxy" else {base: "1 worker", "gateway": "workers"}
        )
        print()
        if base == "proxy":
            print(
                f"{r['label']} — response {size.get('proxy', 0):,} B (proxy, vendor JSON) / "
                f"{size.get('gateway', 0):,} B (gateway, FHIR)"
            )
        else:
            print(f"{r['label']} — response {size.get('gateway', 0):,} B")
        wide = r.get("connections", conns)
        header = f"{'':15}{f'req/s @{wide}':>12}{'p50 ms @1':>12}{'p99 ms @1':>12}{'CPU µs/req':>12}{'core busy':>11}"
        print(header)
        print("-" * len(header))
        for side in (base, "gateway"):
            s = r[side]
            print(
                f"{names[side]:15}{s['rps']:12,.0f}{s['p50_ms']:12.2f}{s['p99_ms']:12.2f}"
                f"{s['cpu_us_per_req']:12,.0f}{s['server_core_busy']:10.0%} "
            )
        q = r["ratio"]
        ratio_name = f"{names['gateway']}/{names[base]}"
        print(f"{ratio_name:15}{q['rps']:11.2f}x{q['p50']:11.2f}x{q['p99']:11.2f}x{q['cpu_per_req']:11.2f}x")
        per_round = ", ".join(f"{x:.2f}" for x in q["rps_per_round"])
        if base == "proxy":
            print(
                f"  gateway costs {r['gateway_extra_cpu_us_per_req']:,.0f} µs CPU/req more than the proxy; "
                f"req/s ratio per round: {per_round}; core of sandbox + load generator busy "
                f"{r['proxy']['driver_core_busy']:.0%} (proxy) / {r['gateway']['driver_core_busy']:.0%} (gateway)"
            )
        else:
            print(
                f"  CPU of all the gateway's processes; req/s ratio per round: {per_round}; sandbox + load "
                f"generator busy {r[base]['driver_core_busy']:.0%} (1 worker) / "
                f"{r['gateway']['driver_core_busy']:.0%} (workers) of a core"
            )
            if "cores" in r:
                print(f"  cores: {r['cores']}")
        calls = (r[base].get("vendor_calls_per_req"), r["gateway"].get("vendor_calls_per_req"))
        if None not in calls:
            entries = size.get("entries")
            per = f"; {entries} entries, {per_entry(results, sizes, key):,.1f} µs gateway CPU per entry"
            print(
                f"  vendor calls/req {calls[0]:.2f} ({names[base]}) / {calls[1]:.2f} ({names['gateway']})"
                + (per if entries else "")
            )
        if "floor_p50_ms" in r:
            floor = r["floor_p50_ms"]
            print(f"  p50 floor, the proxy's /healthz @1 (load generator + uvicorn + loopback): {floor:.3f} ms")
    if "elapsed_s" in params:
        print(f"\n(the whole run took {params['elapsed_s']:,.0f} s, servers' start-up included)")


def _print_memory(r: dict[str, Any]) -> None:
    g = r["gateway"]
    step = g.get("requests_per_step", g["requests"] // 2)
    print()
    print(f"{r['label']} — @{r.get('connections', '?')} connections, {g['rps']:,.0f} req/s, "
          f"{g['cpu_us_per_req']:,.0f} µs CPU/req")  # fmt: skip
    per = g.get("rss_mb_per_worker", {})
    for n, key in ((step, "rss_mb_100k"), (2 * step, "rss_mb_200k")):
        workers = ", ".join(f"{v:.1f}" for v in per.get(str(n), []))
        print(f"  RSS after {n:>9,} requests: {g[key]:7.1f} MB (per serving process: {workers})")
    print(f"  growth between them: {g['growth_mb']:+.1f} MB")


def print_goals(verdicts: list[Goal]) -> None:
    """One line per goal: its verdict, what it asks, what this run measured."""
    print("\nGoals (issue 15; every figure from this run):")
    for goal in verdicts:
        print(f"  {goal.verdict:4}  {goal.name}: {goal.measured}")


def write_json(path: Path, params: dict[str, Any], sizes: dict[str, dict[str, int]], results: dict[str, Any]) -> None:
    document = {
        "parameters": params,
        "response_bytes": sizes,
        "results": results,
        "goals": [vars(g) for g in goals(results, sizes)],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nwrote {path}")


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


def print_failures(tally: Tally) -> None:
    print(f"\nFAILED: {tally.failures} request(s) failed or were not 200, e.g.:", file=sys.stderr)
    for sample in tally.samples:
        print(f"  {sample}", file=sys.stderr)
