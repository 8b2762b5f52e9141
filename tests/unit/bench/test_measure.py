"""The comparison's shape: medians over rounds, gateway/proxy ratios, every round's samples."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from bench import measure
from bench.measure import Sample, Tally, benchmark, summarize
from bench.servers import Server, settled
from bench.workload import Kind

KINDS = [
    Kind("patient_read", "Patient/{id}", ("/a",)),
    Kind("observation_search", "Observation?", ("/b",)),
    Kind("patient_read_wide", "Patient/{id} wide", ("/a",), connections=128, sandbox="nexhealth"),
]


def _sample(rps: float, cpu: float) -> Sample:
    return Sample(
        rps=rps, p50_ms=rps / 1000, p99_ms=rps / 500, requests=int(rps), cpu_us_per_req=cpu,
        server_core_busy=0.9, driver_core_busy=0.5, vendor_calls_per_req=1.0,
    )  # fmt: skip


def test_summarize_takes_medians_throughput_from_n_and_latency_from_1_connection() -> None:
    throughput = [_sample(100, 300), _sample(300, 100), _sample(200, 200)]
    latency = [_sample(1000, 1), _sample(3000, 1), _sample(2000, 1)]
    assert summarize(throughput, latency) == {
        "rps": 200,
        "p50_ms": 2.0,
        "p99_ms": 4.0,
        "cpu_us_per_req": 200,
        "server_core_busy": 0.9,
        "driver_core_busy": 0.5,
        "vendor_calls_per_req": 1.0,
    }


Measured = Callable[[Server, int, float, str | None], Sample]  # (target, connections, duration, wrk) -> a run


def _fake_measure(monkeypatch: pytest.MonkeyPatch, sample: Measured) -> None:
    """measure() replaced by `sample`, with measure()'s signature."""

    async def fake_measure(target: Server, sandbox: Server, kind: Kind, **run: Any) -> Sample:
        return sample(target, run["connections"], run["duration"], run.get("wrk"))

    monkeypatch.setattr(measure, "measure", fake_measure)


def test_benchmark_results_schema(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[str, int, float]] = []
    timers: set[tuple[int, str | None]] = set()
    counter = itertools.count(1)

    def sample(target: Server, connections: int, duration: float, wrk: str | None) -> Sample:
        calls.append((target.name, connections, duration))
        timers.add((connections, wrk))
        n = next(counter)
        return _sample(1000.0 if target.name == "proxy" else 500.0 + n, 250.0 if target.name == "proxy" else 500.0)

    _fake_measure(monkeypatch, sample)
    names = ("sandbox", "nexhealth", "proxy", "gateway")
    servers = {name: Server(name, cast(Any, None), 0, Path("/dev/null")) for name in names}
    results: dict[str, Any] = asyncio.run(
        benchmark(servers, KINDS, connections=16, duration=2.0, rounds=3, tally=Tally(), wrk="/usr/bin/wrk")
    )
    assert timers == {(16, "/usr/bin/wrk"), (128, "/usr/bin/wrk"), (1, "/usr/bin/wrk")}  # wrk drives every run

    # warm-up (1 s at N, 0.5 s at 1), then per round and kind: proxy then gateway, N then 1 connection
    assert calls[:4] == [("proxy", 16, 1.0), ("proxy", 1, 0.5), ("gateway", 16, 1.0), ("gateway", 1, 0.5)]
    assert calls[12:16] == [("proxy", 16, 2.0), ("proxy", 1, 2.0), ("gateway", 16, 2.0), ("gateway", 1, 2.0)]
    assert calls[8:10] == [("proxy", 128, 1.0), ("proxy", 1, 0.5)]  # a kind's own connections
    assert len(calls) == 12 + 3 * 3 * 4
    assert "round 3/3 done" in capsys.readouterr().err

    assert list(results) == ["patient_read", "observation_search", "patient_read_wide"]
    assert [r["connections"] for r in results.values()] == [16, 16, 128]
    for kind in results.values():
        for side in ("proxy", "gateway"):
            assert {"rps", "p50_ms", "p99_ms", "cpu_us_per_req"} <= set(kind[side])
        assert set(kind["ratio"]) == {"rps", "p50", "p99", "cpu_per_req", "rps_per_round"}
        assert kind["ratio"]["cpu_per_req"] == 2.0
        assert kind["gateway_extra_cpu_us_per_req"] == 250.0
        assert len(kind["ratio"]["rps_per_round"]) == 3
        assert set(kind["rounds"]["gateway"]) == {"throughput", "latency"}
        assert len(kind["rounds"]["proxy"]["throughput"]) == 3


def test_a_kind_against_another_gateway_keeps_the_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_measure(monkeypatch, lambda target, *_: _sample(1800.0 if target.name == "gateway_2w" else 1000.0, 500.0))
    names = ("sandbox", "gateway_1w", "gateway_2w")
    servers = {name: Server(name, cast(Any, None), 0, Path("/dev/null")) for name in names}
    two = Kind("patient_read_2w", "2 workers", ("/a",), sides=(("one_worker", "gateway_1w"), ("gateway", "gateway_2w")))
    memory_kind = Kind("memory", "RSS", ("/a",), mode="memory")  # not measured by benchmark()
    results = asyncio.run(benchmark(servers, [two, memory_kind], connections=8, duration=1.0, rounds=2, tally=Tally()))
    assert list(results) == ["patient_read_2w"]
    r = results["patient_read_2w"]
    assert r["baseline"] == "one_worker" and "proxy" not in r
    assert r["ratio"]["rps"] == 1.8 and r["ratio"]["rps_per_round"] == [1.8, 1.8]
    assert set(r["rounds"]) == {"one_worker", "gateway"}


class _Growing(Server):
    def __init__(self) -> None:
        super().__init__("gateway", cast(Any, _Alive()), 0, Path("/dev/null"))
        self.reads = 0

    def rss_mb(self) -> dict[int, float]:
        self.reads += 1
        return {1: 80.0 + self.reads, 2: 70.0}

    def cpu_seconds(self) -> float:
        return 1.0 * self.reads


class _Alive:
    pid = 1

    def poll(self) -> None:
        return None


def test_memory_reads_rss_after_n_and_2n_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench.loadgen import LoadResult

    sent: list[int] = []

    async def fake_load(urls: list[str], *, connections: int, max_requests: int, **_: Any) -> LoadResult:
        sent.append(max_requests + connections)  # each connection's opening request counts too
        return LoadResult(connections, max_requests, 1.0, [0.001] * max_requests)

    monkeypatch.setattr(measure, "run_load", fake_load)
    kind = Kind("memory", "RSS", ("/a", "/b"), mode="memory")
    result = asyncio.run(measure.memory(_Growing(), kind, requests=25_000, connections=64, tally=Tally()))
    assert sent == [10_000, 10_000, 5_000, 10_000, 10_000, 5_000]  # chunks end exactly at N and 2N
    g = result["gateway"]
    assert (g["requests"], g["requests_per_step"]) == (50_000, 25_000)
    assert (g["rss_mb_100k"], g["rss_mb_200k"], g["growth_mb"]) == (83.0, 86.0, 3.0)  # the largest worker
    assert g["rss_mb_per_worker"] == {"25000": [83.0, 70.0], "50000": [86.0, 70.0]}
    assert [point["requests"] for point in g["curve"]] == [10_000, 20_000, 25_000, 35_000, 45_000, 50_000]


class _Ticking:
    """A server seen through its CPU time: each reading adds the next of `steps` (ns), then 0."""

    def __init__(self, steps: list[int] | None = None, name: str = "gateway") -> None:
        self.steps = list(steps or [])
        self.ns = 0
        self.name = name
        self.url = "http://127.0.0.1:1"
        self.exited: int | None = None
        self.proc = type("Proc", (), {"poll": lambda _: self.exited})()

    def pids(self) -> list[int]:
        return [1]

    def cpu_ns(self, pids: list[int] | None = None) -> int:
        self.ns += self.steps.pop(0) if self.steps else 0
        return self.ns

    def cpu_seconds(self) -> float:
        self.ns += 100_000_000  # whoever reads the ticks finds it has worked
        return self.ns / 1e9


def test_a_kind_that_needs_every_answer_counts_the_failures_of_a_run_that_waits_for_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """patient_read_wide's goal is no failed request at 128 connections: its rounds go through
    wrk like every other kind's (its ratios from one generator), then one more run of the
    gateway through bench.loadgen, which waits for every answer (wrk drops those in flight at
    its end); that run's failures are the kind's too. The hook counting answers not 200 costs
    latency: wrk gets it at N connections only."""
    from bench.loadgen import LoadResult

    used: list[tuple[str, int, bool | None]] = []

    async def fake_wrk(program: str, urls: list[str], *, connections: int, **run: Any) -> LoadResult:
        used.append(("wrk", connections, run["count_not_200"]))
        return LoadResult(connections, 1000, 1.0, [], failures=0)

    async def fake_load(urls: list[str], *, connections: int, **_: Any) -> LoadResult:
        used.append(("loadgen", connections, None))
        return LoadResult(connections, 900, 1.0, [0.001], failures=7, samples=["HTTP 502"])

    async def no_calls(session: Any, sandbox: Any) -> int:
        return 0

    monkeypatch.setattr(measure, "run_wrk", fake_wrk)
    monkeypatch.setattr(measure, "run_load", fake_load)
    monkeypatch.setattr(measure, "requests_answered", no_calls)
    wide = Kind("patient_read_wide", "wide", ("/a",), connections=128, every_answer=True)
    servers = cast(dict[str, Server], {name: _Ticking(name=name) for name in ("sandbox", "proxy", "gateway")})
    tally = Tally()
    results = asyncio.run(benchmark(servers, [wide], connections=32, duration=1.0, rounds=1, tally=tally, wrk="wrk"))
    assert used[:-1] == [("wrk", 128, True), ("wrk", 1, False)] * 4  # warm-up and one round, both sides
    assert used[-1] == ("loadgen", 128, None)
    assert results["patient_read_wide"]["failures"] == 7 and tally.failures == 7
    assert results["patient_read_wide"]["every_answer_run"] == {
        "load_generator": "bench.loadgen", "connections": 128, "requests": 900, "failures": 7,
    }  # fmt: skip
    assert results["patient_read_wide"]["gateway"]["rps"] == 1000  # the ratios: wrk's rounds alone


def test_a_servers_cpu_is_read_once_it_has_finished_the_requests_in_flight() -> None:
    # 10 ms of CPU in each of three windows, then 0.1 ms (under 2 % of a 50 ms window): idle,
    # and what it would do later is not waited for
    server = _Ticking(steps=[0, 10_000_000, 10_000_000, 10_000_000, 100_000, 10_000_000])
    started = time.perf_counter()
    busy_until = asyncio.run(settled(cast(Server, server), quiet=0.05))
    ended = time.perf_counter()
    assert server.steps == [10_000_000] and server.ns == 30_100_000
    assert started + 0.14 <= busy_until <= ended - 0.045  # seen busy last in the third window, not the fourth


def test_a_server_whose_cpu_time_drops_is_not_idle_and_one_that_exited_is_not_waited_for() -> None:
    dropping = _Ticking(steps=[0, -5_000_000, 10_000_000, 0])  # a process of its tree ended
    asyncio.run(settled(cast(Server, dropping), quiet=0.01))
    assert dropping.steps == []  # read on past the drop
    gone = _Ticking(steps=[0] + [10_000_000] * 100)
    gone.exited = 1
    started = time.perf_counter()
    asyncio.run(settled(cast(Server, gone), quiet=0.01))
    assert time.perf_counter() - started < 0.5


def test_the_load_sides_cpu_counts_wrk_a_child_that_ended() -> None:
    import subprocess
    import sys

    before = measure._load_side_cpu()
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert measure._load_side_cpu() - before >= 0.25
