"""bench.instructions: a request's instructions from two counted runs; bench.inproc: the runs."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import inproc, instructions
from bench.workload import Kind

REPO = Path(__file__).resolve().parents[3]
SUMMARY = """==4242== Cachegrind, a high-precision tracing profiler
==4242==
==4242== I   refs:      5,808,576,368
"""


def test_the_count_is_read_from_valgrinds_summary() -> None:
    assert instructions.instructions_of(SUMMARY) == 5_808_576_368
    with pytest.raises(instructions.NotCounted):
        instructions.instructions_of("Traceback (most recent call last): ...")


def test_a_request_costs_the_difference_of_the_two_runs_over_the_requests_between_them() -> None:
    assert instructions.per_request(1_000_000, 1_300_000, 200) == 1_500
    with pytest.raises(ValueError, match="more requests"):
        instructions.per_request(1_000_000, 1_000_000, 0)


def _fake_valgrind(tmp_path: Path) -> Path:
    """A `valgrind` that runs the command it is given as it is, then prints a summary whose count
    is 1,000 per request the command was asked to make (its last argument) plus 5,000 for the start."""
    script = tmp_path / "valgrind"
    script.write_text(
        f"""#!{sys.executable}
import subprocess, sys
command = [a for a in sys.argv[1:] if not a.startswith("--")]
done = subprocess.run(command)
if done.returncode:
    sys.exit(done.returncode)
print(f"==1== I   refs:      {{5_000 + 1_000 * int(command[-1]):,}}", file=sys.stderr)
"""
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.slow  # four runs of bench.inproc, each starting the simulators
def test_each_side_is_counted_twice_through_bench_inproc_and_the_gateway_compared_with_the_proxy(
    tmp_path: Path,
) -> None:
    # Each run really drives the side's app (an inproc run that fails fails the count); only the
    # count is made up, so that the arithmetic and the command line are what is checked.
    _fake_valgrind(tmp_path)
    env = {**os.environ, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        [sys.executable, "-m", "bench.instructions", "--kinds", "patient_read", "--base", "2", "--requests", "3"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("patient_read"))
    assert row.split()[1:] == ["1,000", "1,000", "1.00x"]


def test_without_valgrind_it_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(instructions.shutil, "which", lambda name: None)
    with pytest.raises(instructions.NotCounted, match="apt-get install valgrind"):
        instructions.count("patient_read", "gateway", 1, REPO)


@pytest.mark.slow  # starts the simulators
@pytest.mark.parametrize("side", ["gateway", "proxy"])
def test_inproc_drives_each_side_in_process_and_says_how_many_requests_it_made(side: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.inproc", "observation_search", side, "3", "--warm-up", "2"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"observation_search {side}: 3 requests after 2 to warm up" in done.stderr
    assert done.stdout == ""  # the gateway's audit lines are written, and dropped


def test_inproc_refuses_a_kind_not_compared_with_the_proxy() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench.inproc", "memory", "gateway", "3"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "not a kind compared with the proxy" in done.stderr


def test_an_answer_other_than_200_stops_the_run() -> None:
    # A count of 404s would be the count of something else than the kind.
    async def not_found(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    kind = Kind("patient_read", "Patient/{id}", ("/fhir/dentalpms/Patient/1",))
    with pytest.raises(inproc.NotAnswered, match="answered 404"):
        asyncio.run(inproc.drive(not_found, kind, 3, warm_up=0))
