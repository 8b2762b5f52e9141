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

CCD_CPU_US = 5000.0  # a CCD of some 55 KB (the richest ordinary chart's), rendered in at most 5 ms of CPU
CACHED_RPS = 1.5  # a cache hit: no vendor call at all, so well above the proxy (which always calls)
CACHED_P50_MS = 0.2
WORKERS_RPS = 1.8  # two workers vs one, when the second core is free for them
MEMORY_MB = 120.0  # RSS per worker after 100k mixed requests
# No growth between 100k and 200k, within the noise of a steady process: the allocator's arenas
# and the GC's generations move RSS by a megabyte or two without any leak, while a leak of even
# 30 bytes per request shows as 3 MB over 100k requests. 3 MB is also 2.5% of the 120 MB bound.
MEMORY_GROWTH_MB = 3.0


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
    out += _ccd(results, sizes)
    out += _cache_workers_memory(results)
    failures = f(results, "patient_read_wide", "failures")
    conns = results.get("patient_read_wide", {}).get("connections", "?")
    out.append(
        _judge(f"0 socket errors / non-200 @{conns}", failures, lambda x: x == 0, f"{failures:.0f} failed requests")
    )
    return out


def _ccd(results: Results, sizes: dict[str, dict[str, int]]) -> list[Goal]:
    """The 5 ms goal was set on a 55 KB CCD: the richest chart then. The clinic has since gained
    an awkward case (a patient with many times everyone's vital signs), whose CCD is several times
    that, so the goal is judged on the richest ordinary chart's, and the awkward one's reported."""
    f, out = _figure, []
    for key, label, bound in (("ccd_typical", "richest ordinary patient", True), ("ccd", "richest patient", False)):
        cpu = f(results, key, "gateway", "cpu_us_per_req")
        size = sizes.get(key, {}).get("gateway", 0)
        name = f"CCD ({label}, {size / 1000:.0f} KB) CPU/req"
        detail = f"{cpu:,.0f} µs ({cpu / (size / 1000):,.0f} µs per KB)" if size else f"{cpu:,.0f} µs"
        if bound:
            out.append(_judge(f"{name} <= {CCD_CPU_US / 1000:g} ms", cpu, lambda x: x <= CCD_CPU_US, detail))
        elif math.isnan(cpu):
            out.append(Goal(name, "SKIP", "not measured in this run"))
        else:
            out.append(Goal(name, "INFO", detail))
    return out


def _cache_workers_memory(results: Results) -> list[Goal]:
    """The goals of the cache hit, the two workers and the memory kinds."""
    f, out = _figure, []
    rps = f(results, "patient_read_cached", "ratio", "rps")
    calls = f(results, "patient_read_cached", "gateway", "vendor_calls_per_req")
    out.append(
        _judge(f"Cached Patient/{{id}} (all hits) req/s >= {CACHED_RPS:g}x proxy", rps, lambda x: x >= CACHED_RPS,
               f"{rps:.2f}x; vendor calls/req {calls:.3f} (gateway), "
               f"{f(results, 'patient_read_cached', 'proxy', 'vendor_calls_per_req'):.2f} (proxy)")
    )  # fmt: skip
    p50 = f(results, "patient_read_cached", "gateway", "p50_ms")
    out.append(
        _judge(f"Cached Patient/{{id}} p50 @1 <= {CACHED_P50_MS:g} ms", p50, lambda x: x <= CACHED_P50_MS,
               f"{p50:.3f} ms (proxy {f(results, 'patient_read_cached', 'proxy', 'p50_ms'):.3f} ms; the floor of "
               f"this load generator + uvicorn + loopback, the proxy's /healthz, "
               f"{f(results, 'patient_read_cached', 'floor_p50_ms'):.3f} ms)")
    )  # fmt: skip
    two = results.get("patient_read_2w", {})
    rps = f(results, "patient_read_2w", "ratio", "rps")
    # Where the second core is not free, what the workers' own cost suggests: two whole cores at
    # the CPU per request the two workers spent here, over what the one worker carried (on about
    # one core: its busy figure says how near). Redis's CPU is left out, so it errs high.
    cpu_two = f(results, "patient_read_2w", "gateway", "cpu_us_per_req")
    one_rps = f(results, "patient_read_2w", "one_worker", "rps")
    one_busy = f(results, "patient_read_2w", "one_worker", "server_core_busy")
    projected = 2e6 / cpu_two / one_rps if cpu_two > 0 and one_rps > 0 else math.nan
    out.append(
        _judge(f"2 workers Patient/{{id}} req/s >= {WORKERS_RPS:g}x 1 worker (both on Redis)", rps,
               lambda x: x >= WORKERS_RPS,
               f"{rps:.2f}x ({f(results, 'patient_read_2w', 'gateway', 'rps'):,.0f} vs {one_rps:,.0f} req/s); "
               f"cores: {two.get('cores', '?')}; at the workers' CPU per request "
               f"({f(results, 'patient_read_2w', 'ratio', 'cpu_per_req'):.2f}x one worker's), two free cores would "
               f"carry about {projected:.2f}x the one worker (which kept {one_busy:.0%} of a core busy; redis's "
               f"CPU not counted)")
    )  # fmt: skip
    mem = results.get("memory", {}).get("gateway", {})
    step = mem.get("requests_per_step", 100_000)
    at = f(results, "memory", "gateway", "rss_mb_100k")
    later = f(results, "memory", "gateway", "rss_mb_200k")
    out.append(
        _judge(f"Memory: RSS per worker <= {MEMORY_MB:g} MB after {step / 1000:g}k mixed requests",
               max(at, later), lambda x: x <= MEMORY_MB, f"{at:.1f} MB, {later:.1f} MB after {2 * step / 1000:g}k")
    )  # fmt: skip
    growth = later - at
    out.append(
        _judge(f"Memory: growth {step / 1000:g}k -> {2 * step / 1000:g}k <= {MEMORY_GROWTH_MB:g} MB", growth,
               lambda x: x <= MEMORY_GROWTH_MB, f"{growth:+.1f} MB ({at:.1f} -> {later:.1f})")
    )  # fmt: skip
    return out
