"""A small closed-loop HTTP load generator: asyncio + one aiohttp session with keep-alive.

`connections` workers each send a request, read the whole body and send the next, cycling
over a fixed list of URLs. A run is bounded both in time (`duration`) and in requests
(`max_requests`), and it only ever targets the loopback address 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp

ALLOWED_HOST = "127.0.0.1"
REQUEST_TIMEOUT = 10.0
MAX_ERROR_SAMPLES = 5
MAX_FAILURES = 100  # past this the run has failed anyway: stop hammering


@dataclass
class LoadResult:
    connections: int
    requests: int  # completed inside the window, whatever their status
    elapsed: float  # seconds from the first timed request to the last completion
    latencies: list[float]  # seconds, one per completed request
    failures: int = 0  # exceptions and non-200 answers
    samples: list[str] = field(default_factory=list)  # what the first failures were
    quantiles_ms: dict[float, float] = field(default_factory=dict)  # measured elsewhere (bench.wrk)

    @property
    def rps(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, q: float) -> float:
        """The q-quantile (0..1) of latency, in milliseconds (nearest rank)."""
        if q in self.quantiles_ms:
            return self.quantiles_ms[q]
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))
        return ordered[rank] * 1000


def check_loopback(urls: list[str]) -> None:
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname != ALLOWED_HOST:
            raise ValueError(f"the load generator only targets http://{ALLOWED_HOST}, not {url}")


async def run_load(
    urls: list[str],
    *,
    connections: int,
    duration: float,
    max_requests: int,
    stop: Callable[[], bool] = lambda: False,
    headers: dict[str, str] | None = None,
) -> LoadResult:
    """Drive `urls` (cycled) with `connections` concurrent keep-alive connections.

    `stop` is polled before every request: once it says so, the run ends early.
    """
    check_loopback(urls)
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=60, force_close=False)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        result = LoadResult(connections, 0, 0.0, [])

        async def one(url: str) -> None:
            started = time.perf_counter()
            try:
                async with session.get(url, allow_redirects=False, headers=headers) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, detail = 0, f"{type(exc).__name__}: {exc}"
            else:
                detail = f"HTTP {status} from {url}"
            result.latencies.append(time.perf_counter() - started)
            result.requests += 1
            if status != 200:
                result.failures += 1
                if len(result.samples) < MAX_ERROR_SAMPLES:
                    result.samples.append(detail)

        # Open every connection before the clock starts (not counted).
        async with asyncio.TaskGroup() as group:
            for i in range(connections):
                group.create_task(one(urls[i % len(urls)]))
        warm_failures, warm_samples = result.failures, list(result.samples)
        result.requests, result.latencies, result.failures, result.samples = 0, [], 0, []

        issued = 0
        start = time.perf_counter()
        deadline = start + duration

        async def worker(offset: int) -> None:
            nonlocal issued
            index = offset
            while (
                issued < max_requests
                and result.failures < MAX_FAILURES
                and time.perf_counter() < deadline
                and not stop()
            ):
                issued += 1
                await one(urls[index % len(urls)])
                index += connections

        async with asyncio.timeout(duration + REQUEST_TIMEOUT + 5), asyncio.TaskGroup() as group:
            for i in range(connections):
                group.create_task(worker(i))
        result.elapsed = time.perf_counter() - start
        result.failures += warm_failures
        result.samples = (warm_samples + result.samples)[:MAX_ERROR_SAMPLES]
        return result
