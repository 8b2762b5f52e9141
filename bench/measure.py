"""Measuring: warm-up, interleaved rounds of throughput and latency runs, CPU per request.

Each request kind is measured for the proxy and the gateway in turn, round after round
(throughput at N connections, then latency at 1 connection), and the medians are compared as
ratios: the machine is shared and noisy, so absolute numbers drift but ratios from the same
run hold. CPU time comes from /proc for the measured server (read once it has finished the
requests in flight when the run stopped), and for the other core from the sandbox, this
process and wrk.
"""

from __future__ import annotations

import asyncio
import math
import resource
import signal
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.control import STOP, SetupError
from bench.loadgen import LoadResult, run_load
from bench.servers import Server, requests_answered, settled
from bench.workload import PROXY_AND_GATEWAY, Kind
from bench.wrk import run_wrk


@dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    cpu_us_per_req: float  # CPU of the measured server process, per request
    server_core_busy: float  # that process's CPU seconds per wall second
    driver_core_busy: float  # sandbox + load generator CPU seconds per wall second
    vendor_calls_per_req: float = math.nan  # requests the sandbox answered, per request measured


@dataclass
class Tally:
    """Failed requests over the whole run (warm-up included), with the first few: errors, and
    answers not 200 (at one connection through wrk, answers of 400 and more: see measure())."""

    failures: int = 0
    samples: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)  # failures per request kind

    def add(self, result: LoadResult, kind: str | None = None) -> None:
        self.failures += result.failures
        self.samples.extend(result.samples[: max(0, 5 - len(self.samples))])
        if kind is not None:
            self.by_kind[kind] = self.by_kind.get(kind, 0) + result.failures


def warmup_seconds(duration: float) -> float:
    """How long the uncounted warm-up at N connections runs (half that at 1 connection)."""
    return min(1.0, duration)


async def measure(
    target: Server,
    sandbox: Server,
    kind: Kind,
    *,
    connections: int,
    duration: float,
    tally: Tally,
    wrk: str | None = None,
) -> Sample:
    """One run of `kind` against `target`, through `wrk` (its path) if given, else bench.loadgen.
    Through wrk, the answers not 200 are counted at N connections (a Lua hook, which costs wrk
    a copy of every body) and at one connection only those wrk counts itself (4xx, 5xx), so
    that the hook's cost stays out of the latency measured there."""
    urls = [target.url + path for path in kind.paths]
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as counter:
        calls = await requests_answered(counter, sandbox)
        target_cpu, sandbox_cpu, own_cpu = target.cpu_seconds(), sandbox.cpu_seconds(), _load_side_cpu()
        wall = time.perf_counter()
        headers = dict(kind.headers) or None
        if wrk is not None:
            result = await run_wrk(
                wrk,
                urls,
                connections=connections,
                duration=duration,
                stop=STOP.is_set,
                headers=headers,
                count_not_200=connections > 1,
            )
        else:
            result = await run_load(
                urls,
                connections=connections,
                duration=duration,
                max_requests=max(1000, int(duration * 50_000)),
                stop=STOP.is_set,
                headers=headers,
            )
        STOP.check()
        run_end = time.perf_counter()
        busy_until = await settled(target)
        wall = max(run_end, busy_until) - wall
        target_cpu = target.cpu_seconds() - target_cpu
        driver_cpu = sandbox.cpu_seconds() - sandbox_cpu + _load_side_cpu() - own_cpu
        calls = await requests_answered(counter, sandbox) - calls
    tally.add(result, kind.key)
    for server in (target, sandbox):
        if server.proc.poll() is not None:
            raise SetupError(f"{server.name} exited with {server.proc.returncode} under load:\n{server.log_tail()}")
    return Sample(
        rps=result.rps,
        p50_ms=result.percentile(0.50),
        p99_ms=result.percentile(0.99),
        requests=result.requests,
        # One request per connection is in the CPU window but not in the count: the opening one
        # (bench.loadgen does not time it) or the one in flight when wrk stopped (finished before
        # the CPU was read). CPU per request is reported from the throughput runs alone.
        cpu_us_per_req=target_cpu / max(1, result.requests + connections) * 1e6,
        server_core_busy=target_cpu / wall,
        driver_core_busy=driver_cpu / wall,
        vendor_calls_per_req=calls / max(1, result.requests + connections),
    )


def _load_side_cpu() -> float:
    """CPU seconds of the load side on this core: this process and its children that ended
    (wrk, waited for by bench.wrk before its result is read)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def summarize(throughput: list[Sample], latency: list[Sample]) -> dict[str, float]:
    med = statistics.median
    return {
        "rps": med(s.rps for s in throughput),
        "p50_ms": med(s.p50_ms for s in latency),
        "p99_ms": med(s.p99_ms for s in latency),
        "cpu_us_per_req": med(s.cpu_us_per_req for s in throughput),
        "server_core_busy": med(s.server_core_busy for s in throughput),
        "driver_core_busy": med(s.driver_core_busy for s in throughput),
        "vendor_calls_per_req": med(s.vendor_calls_per_req for s in throughput),
    }


async def benchmark(
    servers: dict[str, Server],
    kinds: list[Kind],
    *,
    connections: int,
    duration: float,
    rounds: int,
    tally: Tally,
    wrk: str | None = None,
) -> dict[str, Any]:
    """The comparison: `results` of the --out JSON, one entry per kind (memory kinds: memory()).
    With `wrk` (its path), the rounds go through it (bench.wrk), else through bench.loadgen;
    a kind that needs `every_answer` then gets one more run of the gateway through
    bench.loadgen, its figures under `every_answer_run`."""
    kinds = [k for k in kinds if k.mode == "compare"]
    if not kinds:
        return {}
    print(
        f"measuring: {len(kinds)} kinds x proxy/gateway x {rounds} round(s) x "
        f"({duration:g}s @{connections} + {duration:g}s @1)"
        + (
            f", then {waits} waiting run(s) of the gateway"
            if (waits := sum(k.every_answer for k in kinds)) and wrk
            else ""
        )
        + " ...",
        file=sys.stderr,
        flush=True,
    )
    warmup = warmup_seconds(duration)
    for kind in kinds:
        sandbox, wide = servers[kind.sandbox], kind.connections or connections
        for _, name in kind.sides:
            await measure(servers[name], sandbox, kind, connections=wide, duration=warmup, tally=tally, wrk=wrk)
            await measure(servers[name], sandbox, kind, connections=1, duration=warmup / 2, tally=tally, wrk=wrk)
    raw: dict[str, dict[str, dict[str, list[Sample]]]] = {
        k.key: {label: {"throughput": [], "latency": []} for label, _ in k.sides} for k in kinds
    }
    for round_no in range(rounds):
        for kind in kinds:
            sandbox, wide = servers[kind.sandbox], kind.connections or connections
            for label, name in kind.sides:
                samples = raw[kind.key][label]
                samples["throughput"].append(
                    await measure(
                        servers[name], sandbox, kind, connections=wide, duration=duration, tally=tally, wrk=wrk
                    )
                )
                samples["latency"].append(
                    await measure(servers[name], sandbox, kind, connections=1, duration=duration, tally=tally, wrk=wrk)
                )
        print(f"  round {round_no + 1}/{rounds} done", file=sys.stderr, flush=True)
    waited: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        if kind.every_answer and wrk is not None:  # its failures counted by a generator that waits
            wide, measured = kind.connections or connections, dict(kind.sides)["gateway"]
            before = tally.by_kind.get(kind.key, 0)
            run = await measure(
                servers[measured], servers[kind.sandbox], kind, connections=wide, duration=duration, tally=tally
            )
            waited[kind.key] = {
                "load_generator": "bench.loadgen",
                "connections": wide,
                "requests": run.requests,
                "failures": tally.by_kind.get(kind.key, 0) - before,
            }
    results: dict[str, Any] = {}
    for kind in kinds:
        base = kind.baseline
        per = {label: summarize(**raw[kind.key][label]) for label, _ in kind.sides}
        g, p = per["gateway"], per[base]
        paired = [
            gs.rps / ps.rps
            for gs, ps in zip(raw[kind.key]["gateway"]["throughput"], raw[kind.key][base]["throughput"], strict=True)
        ]
        results[kind.key] = {
            "label": kind.label,
            "connections": kind.connections or connections,
            **({} if base == "proxy" else {"baseline": base}),
            base: p,
            "gateway": g,
            "ratio": {
                "rps": g["rps"] / p["rps"],
                "p50": g["p50_ms"] / p["p50_ms"],
                "p99": g["p99_ms"] / p["p99_ms"],
                "cpu_per_req": g["cpu_us_per_req"] / p["cpu_us_per_req"],
                "rps_per_round": paired,
            },
            "gateway_extra_cpu_us_per_req": g["cpu_us_per_req"] - p["cpu_us_per_req"],
            "failures": tally.by_kind.get(kind.key, 0),  # warm-up (and every_answer_run) included
            **({"every_answer_run": waited[kind.key]} if kind.key in waited else {}),
            "rounds": {
                label: {mode: [vars(s) for s in ss] for mode, ss in raw[kind.key][label].items()}
                for label, _ in kind.sides
            },
        }
    return results


async def floor_p50_ms(
    proxy: Server, sandbox: Server, *, duration: float, tally: Tally, wrk: str | None = None
) -> float:
    """p50 at 1 connection of the proxy's /healthz (no vendor call, no routing to speak of): what
    the load generator, uvicorn and the loopback alone take per request, the floor under any p50."""
    kind = Kind("floor", "proxy /healthz", ("/healthz",), expect="none")
    await measure(proxy, sandbox, kind, connections=1, duration=warmup_seconds(duration) / 2, tally=tally, wrk=wrk)
    return (await measure(proxy, sandbox, kind, connections=1, duration=duration, tally=tally, wrk=wrk)).p50_ms


async def memory(
    target: Server, kind: Kind, *, requests: int, connections: int, tally: Tally, chunk: int = 10_000
) -> dict[str, Any]:
    """Send `requests` of the kind's mixed paths, read the serving processes' RSS, then as many
    again and read it again: `results.memory`, its figures under `gateway`."""
    urls = [target.url + path for path in kind.paths]
    total, done, curve = 2 * requests, 0, []
    rss: dict[int, dict[int, float]] = {}
    now: dict[int, float] = {}
    started = time.perf_counter()
    cpu = target.cpu_seconds()
    print(f"memory: {total:,} mixed requests @{connections} to {target.name} ...", file=sys.stderr, flush=True)
    while done < total:
        step = min(chunk, (requests if done < requests else total) - done)
        result = await run_load(
            urls,
            connections=connections,
            duration=3600.0,  # bounded by the number of requests; STOP ends it early
            max_requests=max(1, step - connections),  # the opening request of each connection counts too
            stop=STOP.is_set,
        )
        STOP.check()
        tally.add(result, kind.key)
        if target.proc.poll() is not None:
            raise SetupError(f"{target.name} exited with {target.proc.returncode} under load:\n{target.log_tail()}")
        done += result.requests + connections
        now = target.rss_mb()
        curve.append({"requests": done, "rss_mb": max(now.values(), default=math.nan)})
        if done >= requests and requests not in rss:
            rss[requests] = now
        print(
            f"  {done:,}/{total:,} requests, RSS {' + '.join(f'{v:.1f}' for v in now.values())} MB",
            file=sys.stderr,
            flush=True,
        )
    rss[total] = now
    elapsed = time.perf_counter() - started
    first, second = (max(rss[n].values(), default=math.nan) for n in (requests, total))
    return {
        "label": f"RSS of the gateway after {requests:,} and {total:,} mixed requests",
        "connections": connections,
        "gateway": {
            "requests": total,
            "requests_per_step": requests,  # rss_mb_100k is read after this many, rss_mb_200k after twice
            "rps": done / elapsed,
            "cpu_us_per_req": (target.cpu_seconds() - cpu) / max(1, done) * 1e6,
            "rss_mb_100k": first,  # the largest serving process's (per worker), after `requests`
            "rss_mb_200k": second,  # and after twice as many
            "growth_mb": second - first,
            "rss_mb_per_worker": {str(n): list(rss[n].values()) for n in (requests, total)},
            "curve": curve,
        },
        "failures": tally.by_kind.get(kind.key, 0),
    }


async def profile(
    servers: dict[str, Server], kinds: list[Kind], *, connections: int, duration: float, tally: Tally
) -> dict[str, dict[str, Any]]:
    """cProfile the gateway (and the proxy, for comparison) under load, one kind at a time.

    The server profiles itself between SIGUSR1 and SIGUSR2 (see bench.serve), so only the
    measured load is in the stats. Returns, per `server:kind`, the stats file and how many
    requests it covers.
    """
    out: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        sandbox = servers[kind.sandbox]
        if kind.sides != PROXY_AND_GATEWAY:
            continue  # the proxy-vs-gateway kinds only
        for name in ("proxy", "gateway"):
            target = servers[name]
            assert target.profile_prefix is not None
            await measure(target, sandbox, kind, connections=connections, duration=1.0, tally=tally)
            stats_file = Path(f"{target.profile_prefix}-{kind.key}.prof")
            Path(f"{target.profile_prefix}.prof").unlink(missing_ok=True)
            target.proc.send_signal(signal.SIGUSR1)
            await asyncio.sleep(0.2)
            sample = await measure(target, sandbox, kind, connections=connections, duration=duration, tally=tally)
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
            out[f"{name}:{kind.key}"] = {"file": str(stats_file), "requests": sample.requests + connections}
    return out
