"""The comparison's shape: medians over rounds, gateway/proxy ratios, every round's samples."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any, cast

import pytest

from bench import measure
from bench.measure import Sample, Tally, benchmark, summarize
from bench.servers import Server
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


def test_benchmark_results_schema(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    calls: list[tuple[str, int, float]] = []
    counter = itertools.count(1)

    async def fake_measure(
        target: Server, sandbox: Server, kind: Kind, *, connections: int, duration: float, tally: Tally
    ) -> Sample:
        calls.append((target.name, connections, duration))
        n = next(counter)
        return _sample(1000.0 if target.name == "proxy" else 500.0 + n, 250.0 if target.name == "proxy" else 500.0)

    monkeypatch.setattr(measure, "measure", fake_measure)
    names = ("sandbox", "nexhealth", "proxy", "gateway")
    servers = {name: Server(name, cast(Any, None), 0, Path("/dev/null")) for name in names}
    results: dict[str, Any] = asyncio.run(
        benchmark(servers, KINDS, connections=16, duration=2.0, rounds=3, tally=Tally())
    )

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
