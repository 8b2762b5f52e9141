"""The performance goals (issue 15), each judged PASS or FAIL on one run's results.

Every figure is taken from the same run: a ratio to the proxy, a difference from it, or a
ratio between two request kinds measured side by side. A goal whose kind was not measured
(or produced no number) is `SKIP`; figures without a bound are reported as `INFO`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.search.execute import MAX_VENDOR_CALLS_PER_PAGE

CCD_CPU_US = 5000.0  # a 55 KB CCD of the richest patient, rendered in at most 5 ms of CPU


@dataclass(frozen=True)
class Goal:
    name: str
    verdict: str  # PASS | FAIL | INFO | SKIP
    measured: str


Results = dict[str, Any]
Sizes = dict[str, dict[str, int]]


def _figure(results: Results, key: str, *path: str) -> float:
    value: Any = results.get(key)
    for part in path:
        value = value.get(part) if isinstance(value, dict) else None
    return float(value) if isinstance(value, int | float) else math.nan


def _judge(name: str, value: float, passes: Callable[[float], bool], text: str) -> Goal:
    if math.isnan(value):
        return Goal(name, "SKIP", "not measured in this run")
    return Goal(name, "PASS" if passes(value) else "FAIL", text)


def per_entry(results: Results, sizes: Sizes, key: str, side: str = "gateway") -> float:
    """CPU µs per returned Bundle entry of `key` (NaN without entries)."""
    entries = sizes.get(key, {}).get("entries", 0)
    return _figure(results, key, side, "cpu_us_per_req") / entries if entries else math.nan


def goals(results: Results, sizes: Sizes) -> list[Goal]:
    out: list[Goal] = []
    f = _figure
    for key in ("patient_read", "patient_read_wide"):
        conns = results.get(key, {}).get("connections", "?")
        rps = f(results, key, "ratio", "rps")
        out.append(_judge(f"Patient/{{id}} req/s >= 0.9x proxy @{conns}", rps, lambda x: x >= 0.9, f"{rps:.2f}x"))
    cpu = f(results, "patient_read", "ratio", "cpu_per_req")
    out.append(_judge("Patient/{id} CPU/req <= 1.3x proxy", cpu, lambda x: x <= 1.3, f"{cpu:.2f}x"))
    added = f(results, "patient_read", "gateway", "p50_ms") - f(results, "patient_read", "proxy", "p50_ms")
    out.append(_judge("Patient/{id} added p50 @1 <= 0.15 ms", added, lambda x: x <= 0.15, f"{added:+.3f} ms"))

    rps = f(results, "observation_search", "ratio", "rps")
    out.append(_judge("Observation _count=20 req/s >= 0.5x proxy", rps, lambda x: x >= 0.5, f"{rps:.2f}x"))
    cpu = f(results, "observation_search", "ratio", "cpu_per_req")
    out.append(_judge("Observation _count=20 CPU/req <= 2.5x proxy", cpu, lambda x: x <= 2.5, f"{cpu:.2f}x"))
    small, large = per_entry(results, sizes, "observation_search"), per_entry(results, sizes, "observation_search_100")
    out.append(
        _judge(
            "Observation CPU per entry at _count=100 <= at _count=20",
            large / small,
            lambda x: x <= 1.0,
            f"{large:,.1f} vs {small:,.1f} µs per entry ({large / small:.2f}x)",
        )
    )

    for key in ("nexhealth_search_walk", "nexhealth_search_narrowed"):
        calls = f(results, key, "gateway", "vendor_calls_per_req")
        entry = per_entry(results, sizes, key)
        cpu = f(results, key, "gateway", "cpu_us_per_req")
        out.append(
            _judge(
                f"NexHealth {key.rsplit('_', 1)[1]} search: vendor calls/req <= {MAX_VENDOR_CALLS_PER_PAGE}",
                calls,
                lambda x: x <= MAX_VENDOR_CALLS_PER_PAGE,
                f"{calls:.2f} calls/req; {cpu:,.0f} µs CPU/req, {entry:,.0f} µs per returned entry, "
                f"{cpu / calls if calls else math.nan:,.0f} µs per vendor call",
            )
        )

    for key, label in (("everything", "$everything"), ("ccd_html", "CCD as HTML")):
        cpu = f(results, key, "gateway", "cpu_us_per_req")
        ratio = f(results, key, "ratio", "cpu_per_req")
        out.append(
            Goal(f"{label} (richest patient) CPU/req", "INFO", f"{cpu:,.0f} µs ({ratio:.2f}x the proxy's fetch)")
            if not math.isnan(cpu)
            else Goal(f"{label} CPU/req", "SKIP", "not measured in this run")
        )
    cpu = f(results, "ccd", "gateway", "cpu_us_per_req")
    size = sizes.get("ccd", {}).get("gateway", 0)
    out.append(
        _judge(
            f"CCD (richest patient, {size / 1000:.0f} KB) CPU/req <= {CCD_CPU_US / 1000:g} ms",
            cpu,
            lambda x: x <= CCD_CPU_US,
            f"{cpu:,.0f} µs",
        )
    )
    failures = f(results, "patient_read_wide", "failures")
    conns = results.get("patient_read_wide", {}).get("connections", "?")
    out.append(
        _judge(f"0 socket errors / non-200 @{conns}", failures, lambda x: x == 0, f"{failures:.0f} failed requests")
    )
    return out
