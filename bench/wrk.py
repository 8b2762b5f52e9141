"""Runs through wrk (https://github.com/wg/wrk, Debian package `wrk`), where installed.

bench.loadgen (Python: asyncio + aiohttp) spends more per request than the servers it
measures: under load it kept the other core as busy as the proxy kept its own, and at one
connection its own share of a p50 is about 0.15 ms, three quarters of the 0.2 ms the cache-hit
goal allows. wrk is an event loop in C: its share is a few microseconds. A run cycles over the
kind's paths in order (a Lua `request` hook), can count every answer that is not 200 (a Lua
`response` hook; wrk itself counts only those above 399) and is bounded in time; wrk answers
the same figures as `run_load` (`LoadResult`), its latency quantiles as it measured them (50 %
and 99 %) rather than as a list of every request. Unlike bench.loadgen, wrk does not wait for
the requests in flight when it stops: they are neither counted nor checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from bench.control import SetupError
from bench.loadgen import REQUEST_TIMEOUT, LoadResult, check_loopback

_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}
_QUANTILE = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s|m)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m),", re.MULTILINE)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_NOT_200 = re.compile(r"^answers not 200: (\d+)$", re.MULTILINE)  # the hook's own count (script())
_TARGET = re.compile(r"[\x21-\x7e]*")  # a request target: printable ASCII, no space
_HEADER = re.compile(r"[\x20-\x7e]*")  # a header name or value: the same, spaces allowed


def installed() -> str | None:
    """The path of wrk, or None."""
    return shutil.which("wrk")


def version(program: str) -> str:
    """wrk's version line (`wrk debian/4.1.0-3 [epoll] ...`), cut to the version."""
    run = subprocess.run([program, "--version"], capture_output=True, text=True, timeout=10, check=False)
    words = (run.stdout or run.stderr).split()
    return words[1] if len(words) > 1 and words[0] == "wrk" else "unknown"


def script(paths: list[str], headers: dict[str, str] | None, *, count_not_200: bool = True) -> str:
    """The Lua hooks sending `paths` in turn, each with `headers` (written as Lua string literals:
    what would need escaping there is refused), and with `count_not_200` counting the answers
    that are not 200. That hook makes wrk copy every answer's headers and body into Lua: at one
    connection, tens of µs of a 200 KB answer's latency."""
    checks = [(path, _TARGET) for path in paths] + [
        (text, _HEADER) for item in (headers or {}).items() for text in item
    ]
    for text, allowed in checks:
        if not allowed.fullmatch(text) or '"' in text or "\\" in text:
            raise ValueError(f"not a plain request target or header: {text!r}")
    listed = ", ".join(f'"{path}"' for path in paths)
    fields = ", ".join(f'["{name}"] = "{value}"' for name, value in (headers or {}).items())
    sending = (
        f"local paths = {{{listed}}}\n"
        f"local headers = {{{fields}}}\n"
        "local sent = 0\n"
        "request = function()\n"
        "  sent = sent % #paths + 1\n"
        '  return wrk.format("GET", paths[sent], headers)\n'
        "end\n"
    )
    if not count_not_200:
        return sending
    return sending + (
        "not_200 = 0\n"  # a global: done() reads it from each thread's state
        "local threads = {}\n"
        "setup = function(thread) table.insert(threads, thread) end\n"
        "response = function(status)\n"
        "  if status ~= 200 then not_200 = not_200 + 1 end\n"
        "end\n"
        "done = function(summary, latency, requests)\n"
        "  local count = 0\n"
        '  for _, thread in ipairs(threads) do count = count + thread:get("not_200") end\n'
        '  io.write(string.format("answers not 200: %d\\n", count))\n'
        "end\n"
    )


def parse(output: str, connections: int, *, counted_not_200: bool = False) -> LoadResult:
    """A `LoadResult` from wrk's report (run with `--latency`; `counted_not_200`: with the hook
    that counts answers not 200, whose line must then be there). A run in which no request
    completed (wrk then reports every quantile as 0) is a failure, its quantiles unknown."""
    total = _TOTAL.search(output)
    quantiles = {int(q) / 100: float(n) * _UNIT_SECONDS[unit] * 1000 for q, n, unit in _QUANTILE.findall(output)}
    hooked = _NOT_200.search(output)
    if total is None or set(quantiles) != {0.5, 0.99} or (counted_not_200 and hooked is None):
        raise SetupError(f"wrk's report could not be read:\n{output[-2000:]}")
    socket = _SOCKET_ERRORS.search(output)
    not_200 = hooked or _NON_2XX.search(output)  # without the hook: wrk's own count (>= 400)
    socket_errors = sum(int(n) for n in socket.groups()) if socket else 0
    answered_otherwise = int(not_200.group(1)) if not_200 else 0
    samples = []
    if socket_errors:
        samples.append(f"wrk: {socket.group(0) if socket else ''}")
    if answered_otherwise:
        samples.append(f"wrk: {answered_otherwise} answers not 200")
    requests = int(total.group(1))
    if requests == 0:
        samples.append("wrk: no request completed")
        quantiles = {q: math.nan for q in quantiles}
    return LoadResult(
        connections,
        requests,
        float(total.group(2)) * _UNIT_SECONDS[total.group(3)],
        latencies=[],
        failures=socket_errors + answered_otherwise + (requests == 0),
        samples=samples,
        quantiles_ms=quantiles,
    )


async def run_wrk(
    program: str,
    urls: list[str],
    *,
    connections: int,
    duration: float,
    stop: Callable[[], bool] = lambda: False,
    headers: dict[str, str] | None = None,
    count_not_200: bool = True,
) -> LoadResult:
    """Drive `urls` (cycled, one server) with `connections` keep-alive connections for `duration`
    seconds; `stop` is polled while it runs, and ends the run early. `count_not_200`: see
    script()."""
    check_loopback(urls)
    origins = {f"{urlsplit(u).scheme}://{urlsplit(u).netloc}" for u in urls}
    if len(origins) != 1:
        raise ValueError(f"one server per run, not {sorted(origins)}")
    paths = [urlsplit(u).path + (f"?{urlsplit(u).query}" if urlsplit(u).query else "") for u in urls]
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        hook = Path(tmp) / "cycle.lua"
        hook.write_text(script(paths, headers, count_not_200=count_not_200))
        # wrk takes whole seconds: a warm-up of half a second is one there.
        command = [program, "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "--latency"]
        command += [f"--timeout={int(REQUEST_TIMEOUT)}s", "-s", str(hook), origins.pop() + "/"]
        proc = await asyncio.create_subprocess_exec(
            *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        try:
            reading = asyncio.ensure_future(proc.communicate())
            interrupted = False
            while not reading.done():
                await asyncio.wait([reading], timeout=0.1)
                if stop() and not reading.done() and not interrupted:
                    interrupted = True  # once: wrk stops and still reports (SIGTERM: no report)
                    with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
                        proc.send_signal(signal.SIGINT)
            output = (await reading)[0].decode(errors="replace")
        finally:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
    if proc.returncode != 0 and not stop():
        raise SetupError(f"wrk exited with {proc.returncode}:\n{output[-2000:]}")
    return parse(output, connections, counted_not_200=count_not_200 and not stop())
