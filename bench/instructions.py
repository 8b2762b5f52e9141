"""Instructions per request, the gateway's app against the proxy's, counted by valgrind.

    .venv/bin/python -m bench.instructions [--kinds KIND ...] [--requests N]

`bench.run` measures time: on a machine shared with other work its absolute figures move by
15 % and more, and a change worth 3 % cannot be seen. This counts what does not move: the
instructions the CPU runs (valgrind's `cachegrind` tool, its cache simulation off, Debian's
`valgrind` package). Each side (`bench.inproc`: the app driven in process, the simulators in
processes of their own, which valgrind does not follow) is run twice, making `--base` and then
`--base` + N requests after the same start and warm-up; the difference of the two counts, over
N, is what one request costs, start-up cancelled out. Python's hash seed is fixed
(PYTHONHASHSEED=0): two runs of one revision agree to a few hundredths of a percent.

What it leaves out is the HTTP server (uvicorn, the same for both sides) and time spent waiting
(the kernel's work: sockets, the audit line's write); instructions are not time either (a cache
miss costs more than an add), so `bench.run` stays the judge of the goals. This is the
instrument for a change to the gateway's own code: run it before and after (on two checkouts,
`--repo`), and read the per-request difference.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_KINDS = ("patient_read", "patient_read_cached", "observation_search")
_TOTAL = re.compile(r"I\s+refs:\s+([\d,]+)")


class NotCounted(Exception):
    """A run did not end with valgrind's count: the side failed, or valgrind is missing."""


@dataclass(frozen=True)
class Counted:
    kind: str
    proxy: float  # instructions per request
    gateway: float

    @property
    def ratio(self) -> float:
        return self.gateway / self.proxy


def instructions_of(report: str) -> int:
    """The total count in valgrind's summary (`==PID== I   refs:      5,808,576,368`)."""
    found = _TOTAL.search(report)
    if found is None:
        raise NotCounted("valgrind printed no instruction count")
    return int(found.group(1).replace(",", ""))


def per_request(fewer: int, more: int, extra_requests: int) -> float:
    """What one request costs: the two runs differ by `extra_requests` requests, nothing else."""
    if extra_requests <= 0:
        raise ValueError("the second run must make more requests than the first")
    return (more - fewer) / extra_requests


def count(kind: str, side: str, requests: int, repo: Path) -> int:
    """The instructions of one `bench.inproc` run of `requests` requests (its start included)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise NotCounted("valgrind is not installed (Debian: apt-get install valgrind)")
    command = [
        valgrind,
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        "-m",
        "bench.inproc",
        kind,
        side,
        str(requests),
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": os.pathsep.join((str(repo), str(repo / "sandboxes")))}
    done = subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join(done.stderr.splitlines()[-5:])
        raise NotCounted(f"{kind} {side}: exited with {done.returncode}:\n{tail}")
    return instructions_of(done.stderr)


def measure(kind: str, base: int, requests: int, repo: Path) -> Counted:
    sides = {
        side: per_request(count(kind, side, base, repo), count(kind, side, base + requests, repo), requests)
        for side in ("proxy", "gateway")
    }
    return Counted(kind, sides["proxy"], sides["gateway"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=list(DEFAULT_KINDS))
    parser.add_argument("--requests", type=int, default=200, help="the requests the second run makes more (N)")
    parser.add_argument("--base", type=int, default=50, help="the requests of the first run, after the warm-up")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose gateway is counted")
    parser.add_argument("--out", type=Path, help="write the figures as JSON")
    args = parser.parse_args(argv)
    results: list[Counted] = []
    print(f"{'kind':<24} {'proxy instr/req':>16} {'gateway instr/req':>18} {'ratio':>7}")
    try:
        for kind in args.kinds:
            found = measure(kind, args.base, args.requests, args.repo.resolve())
            results.append(found)
            print(f"{kind:<24} {found.proxy:>16,.0f} {found.gateway:>18,.0f} {found.ratio:>6.2f}x", flush=True)
    except NotCounted as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.out:
        figures = {r.kind: {**asdict(r), "ratio": r.ratio} for r in results}
        args.out.write_text(json.dumps({"instructions_per_request": figures}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
