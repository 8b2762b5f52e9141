"""Runs through wrk: its report read into the load generator's figures, and a real run."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Iterator

import pytest
from starlette.types import Receive, Scope, Send

from bench.control import SetupError
from bench.wrk import parse, run_wrk, script
from gateway.sandbox_host import RunningServer, serve_in_thread
from tests.support.programs import program_or_skip

# wrk 4.1.0's report of a run with --latency (Debian's wrk), one path of two answering 404.
REPORT = """\
Running 1s test @ http://127.0.0.1:8765/
  1 threads and 1 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    93.26us   66.55us   1.89ms   98.59%
    Req/Sec    10.78k   644.22    11.78k    63.64%
  Latency Distribution
     50%   87.00us
     75%   96.00us
     90%  114.00us
     99%    1.77ms
  11780 requests in 1.10s, 1.10MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 5890
Requests/sec:  10714.51
Transfer/sec:      1.00MB
"""


def test_a_report_is_read_into_requests_time_quantiles_and_failures() -> None:
    result = parse(REPORT, connections=1)
    assert (result.requests, result.elapsed, result.connections) == (11780, 1.10, 1)
    assert result.rps == pytest.approx(10709, abs=1)
    assert result.percentile(0.5) == pytest.approx(0.087)  # milliseconds, as bench.loadgen gives them
    assert result.percentile(0.99) == pytest.approx(1.77)
    assert result.failures == 5890 + 3
    assert result.samples == [
        "wrk: Socket errors: connect 0, read 2, write 0, timeout 1",
        "wrk: 5890 answers not 200",
    ]


def test_the_hooks_count_of_answers_not_200_is_the_one_read_and_must_be_there() -> None:
    """wrk counts only answers above 399; the Lua hook (script()) counts every one not 200. A
    report without its line, from a run with it, is no report (the script did not run)."""
    result = parse(REPORT + "answers not 200: 5893\n", connections=1, counted_not_200=True)
    assert result.failures == 5893 + 3 and result.samples[1] == "wrk: 5893 answers not 200"
    with pytest.raises(SetupError, match="could not be read"):
        parse(REPORT, connections=1, counted_not_200=True)


def test_a_clean_report_has_no_failures_and_an_unreadable_one_stops_the_run() -> None:
    clean = "\n".join(line for line in REPORT.splitlines() if "errors" not in line and "Non-2xx" not in line)
    assert parse(clean, connections=1).failures == 0
    with pytest.raises(SetupError, match="could not be read"):
        parse("unable to connect to 127.0.0.1:1 Connection refused", connections=1)


@pytest.mark.parametrize("bad", ['/a"b', "/a\\b", "/a\nb", "/a\x7fb"])
def test_the_script_refuses_what_would_break_out_of_a_lua_string(bad: str) -> None:
    with pytest.raises(ValueError, match="not a plain request target"):
        script([bad], None)
    with pytest.raises(ValueError, match="not a plain request target"):
        script(["/a"], {"Accept": bad})


def test_a_header_value_may_hold_spaces_and_a_path_may_not() -> None:
    assert '["Accept"] = "application/xml, text/html"' in script(["/a"], {"Accept": "application/xml, text/html"})
    with pytest.raises(ValueError, match="not a plain request target"):
        script(["/a b"], None)


def test_a_run_in_which_nothing_completed_failed_and_has_no_latency() -> None:
    stalled = """\
Running 1s test @ http://127.0.0.1:8765/
  1 threads and 1 connections
  Latency Distribution
     50%    0.00us
     75%    0.00us
     90%    0.00us
     99%    0.00us
  0 requests in 1.00s, 0.00B read
Requests/sec:      0.00
"""
    result = parse(stalled, connections=1)
    assert result.requests == 0 and result.failures == 1
    assert math.isnan(result.percentile(0.5)) and math.isnan(result.percentile(0.99))
    assert result.samples == ["wrk: no request completed"]


class Counting:
    """Answers 200 to a GET of /ok or /also with `Accept: application/xml`, else 302 (an answer
    wrk itself does not count as an error); counts paths."""

    def __init__(self) -> None:
        self.paths: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        query = scope["query_string"].decode()
        path = scope["path"] + (f"?{query}" if query else "")
        self.paths[path] += 1
        xml = (b"accept", b"application/xml") in scope["headers"]
        status = 200 if xml and path in ("/ok", "/also?x=1") else 302
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
def counting() -> Iterator[tuple[Counting, RunningServer]]:
    app = Counting()
    running = serve_in_thread(app)
    yield app, running
    running.stop()


@pytest.mark.slow
def test_a_run_cycles_the_paths_with_the_headers_and_counts_what_failed(
    counting: tuple[Counting, RunningServer],
) -> None:
    wrk = program_or_skip("wrk", purpose="the benchmark's latency runs")
    app, running = counting
    urls = [f"{running.url}/ok", f"{running.url}/also?x=1", f"{running.url}/missing"]
    result = asyncio.run(run_wrk(wrk, urls, connections=1, duration=1, headers={"Accept": "application/xml"}))
    assert result.requests > 30
    assert 0 < result.percentile(0.5) <= result.percentile(0.99)
    # In turn: each path a third of the requests, and only /missing failing (give or take the
    # request in flight when wrk stopped, which the server saw and wrk did not count).
    assert set(app.paths) == {"/ok", "/also?x=1", "/missing"}
    assert max(app.paths.values()) - min(app.paths.values()) <= 1
    assert app.paths["/missing"] - 1 <= result.failures <= app.paths["/missing"]


@pytest.mark.slow
def test_without_the_hook_only_what_wrk_counts_itself_fails(counting: tuple[Counting, RunningServer]) -> None:
    """The runs at one connection leave the hook out (its copy of every answer is latency):
    there, wrk counts only answers above 399, and the 302s pass."""
    wrk = program_or_skip("wrk", purpose="the benchmark's latency runs")
    app, running = counting
    urls = [f"{running.url}/ok", f"{running.url}/missing"]
    result = asyncio.run(
        run_wrk(wrk, urls, connections=1, duration=1, headers={"Accept": "application/xml"}, count_not_200=False)
    )
    assert result.requests > 30 and app.paths["/missing"] > 15 and result.failures == 0


@pytest.mark.slow
def test_a_stopped_run_ends_early_with_what_it_measured(counting: tuple[Counting, RunningServer]) -> None:
    wrk = program_or_skip("wrk", purpose="the benchmark's latency runs")
    _, running = counting
    started = time.monotonic()
    result = asyncio.run(
        run_wrk(
            wrk, [f"{running.url}/missing"], connections=1, duration=30, stop=lambda: time.monotonic() > started + 0.5
        )
    )
    assert time.monotonic() - started < 10  # not the 30 s asked for
    assert result.requests > 0 and result.failures == result.requests  # every answer a 302, counted by the hook


def test_a_run_only_targets_the_loopback_and_one_server() -> None:
    with pytest.raises(ValueError, match="only targets"):
        asyncio.run(run_wrk("wrk", ["http://example.org/a"], connections=1, duration=1))
    with pytest.raises(ValueError, match="one server per run"):
        asyncio.run(run_wrk("wrk", ["http://127.0.0.1:1/a", "http://127.0.0.1:2/a"], connections=1, duration=1))
