"""A batch of client GETs as the fault-injection tests measure it."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any


@dataclass
class Run:
    statuses: list[int]
    latencies: list[float]  # seconds
    vendor_calls: int
    bodies: dict[str, Any]  # path → body of each 200

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
