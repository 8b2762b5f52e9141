"""A batch of client GETs as the fault-injection tests measure it."""

from __future__ import annotations

import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx

from sandboxes.toolkit.chaos import Chaos


@dataclass
class Run:
    statuses: list[int]
    latencies: list[float]  # seconds
    vendor_calls: int
    bodies: dict[str, Any]  # path → body of each 200
    failures: list[str]  # "status path: diagnostics" of each answer but a 200, for the assertion message

    @property
    def success(self) -> float:
        return sum(s == 200 for s in self.statuses) / len(self.statuses)

    def p(self, q: float) -> float:
        """The q-th percentile latency, in milliseconds."""
        return statistics.quantiles(self.latencies, n=100)[int(q) - 1] * 1000

    def report(self, name: str, baseline: Run | None = None) -> None:
        load = f", vendor load {self.vendor_calls / baseline.vendor_calls:.2f}x" if baseline else ""
        print(
            f"\n[{name}] {len(self.statuses)} GETs: {self.success:.1%} ok, p50 {self.p(50):.1f} ms,"
            f" p99 {self.p(99):.1f} ms, {self.vendor_calls} vendor calls{load}"
        )


Answer = tuple[int, float, Any]  # status, seconds, JSON body (None when not JSON)


def get_all(url: str, paths: list[str], workers: int = 8) -> list[Answer]:
    """GET every path concurrently; any answer but a 200 must be an OperationOutcome."""

    def get(path: str) -> Answer:
        with httpx.Client(timeout=60) as client:
            started = time.perf_counter()
            response = client.get(url + path)
            elapsed = time.perf_counter() - started
            body = response.json() if "json" in response.headers.get("content-type", "") else None
            if response.status_code != 200:
                assert body and body["resourceType"] == "OperationOutcome", response.text[:300]
            return response.status_code, elapsed, body

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(get, paths))


def run_against(url: str, chaos: Chaos, paths: list[str], workers: int = 8) -> Run:
    """`get_all`, counted as a Run with the vendor calls the chaotic simulator received meanwhile."""
    before = chaos.calls
    results = get_all(url, paths, workers)
    bodies = {path: body for path, (status, _, body) in zip(paths, results, strict=True) if status == 200}
    answers = zip(paths, results, strict=True)
    failures = [f"{status} {path}: {_diagnostics(body)}" for path, (status, _, body) in answers if status != 200]
    return Run([r[0] for r in results], [r[1] for r in results], chaos.calls - before, bodies, failures)


def _diagnostics(outcome: Any) -> str:
    return "; ".join(str(issue.get("diagnostics", issue.get("code"))) for issue in outcome.get("issue", []))
