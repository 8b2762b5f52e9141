"""The benchmark servers: the Dental PMS and NexHealth sandboxes, the gateway and the passthrough proxy.

Each is its own process (`python -m bench.serve ROLE`), started here on a loopback socket this
process binds first, pinned to a core, and watched for CPU time through /proc. The gateway and
the proxy share one core, the sandboxes and the load generator (wrk, or this process) the
other: the two are measured in turn, so each gets that core to itself, and the load side
cannot take time from it.
Each sandbox counts the requests it answers (`GET /_bench/requests`, bench.serve): vendor calls.

For the two-worker kind (`patient_read_2w`) the run also starts a private redis-server and the
gateway twice more through its real command line (`fhir-gateway serve --workers 1|2`, on Redis),
unpinned: their CPU is that of the whole process tree (the supervisor and its workers).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ctypes
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.control import STOP, SetupError

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TENANT = "dentalpms"
ORG_ID = "bench-org"
API_TOKEN = "bench-dentalpms-token-2f6c1d0e9a"  # fixed: runs are reproducible
PAGING_SECRET = "bench-paging-secret-7b3e54a1c8-2f9d04e6"
ORG_ENV = "BENCH_ORG_ID"
TOKEN_ENV = "BENCH_DENTALPMS_TOKEN"
PAGING_ENV = "BENCH_PAGING_SECRET"
NEXHEALTH = "nexhealth"  # the NexHealth sandbox's server name and role
NEXHEALTH_TENANT = "nexhealth"
NEXHEALTH_SUBDOMAIN = "bench-dental"
NEXHEALTH_LOCATION = 101  # the first of the simulated institution's locations (sandboxes.nexhealth)
NEXHEALTH_KEY = "bench-nexhealth-key-5d1f0c3b7e"
NEXHEALTH_KEY_ENV = "BENCH_NEXHEALTH_KEY"
# The bench measures CPU, not NexHealth's documented 100/s and 1,000/min: both sides lift them.
NEXHEALTH_RATE_PER_SECOND = 1_000_000
NEXHEALTH_RATE_PER_MINUTE = 60_000_000
# A second Dental PMS tenant in front of the same sandbox, its response cache on for longer than
# a run: after the warm-up every read of the same 32 patients is a cache hit (no vendor call).
CACHED_TENANT = "dentalpms-cached"
CACHE_TTL = 3600
# The worker-mode gateways (`serve --workers N`) share their state on a private redis-server.
TOKEN_KEY_ENV = "BENCH_TOKEN_STORE_KEY"
TOKEN_STORE_KEY = base64.urlsafe_b64encode(b"bench-token-store-key-0123456789").decode()  # a Fernet key
REDIS_BINARY = "/usr/bin/redis-server"
WORKERS = 2
COUNTER_PATH = "/_bench/requests"
START_TIMEOUT = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path
    profile_prefix: Path | None = None
    tree: bool = False  # a supervisor and its workers: CPU and memory of every process under it

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def pids(self) -> list[int]:
        """The process, and with `tree` all its live descendants."""
        return [self.proc.pid, *(descendants(self.proc.pid) if self.tree else ())]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads; with `tree`, all its
        descendants' too) so far."""
        total = 0.0
        for pid in self.pids():
            cpu = _process_cpu(pid)
            if math.isnan(cpu) and pid == self.proc.pid:
                return cpu
            total += 0.0 if math.isnan(cpu) else cpu
        return total

    def cpu_ns(self, pids: list[int] | None = None) -> int:
        """CPU time on the scheduler's clock (nanoseconds; of `pids`, default `pids()`), from
        each process's CPU-time clock, which keeps the time of threads that ended:
        `cpu_seconds` moves in 10 ms ticks, too coarse to see a server go idle."""
        total = 0
        for pid in self.pids() if pids is None else pids:
            try:
                # clock_gettime(2)'s clock of process `pid`: CPUCLOCK_SCHED (2) of ~pid, shifted
                # by 3 (Linux's MAKE_PROCESS_CPUCLOCK, include/linux/posix-timers.h)
                total += time.clock_gettime_ns(((~pid) << 3) | 2)
            except OSError:
                continue  # it ended meanwhile
        return total

    def rss_mb(self) -> dict[int, float]:
        """Resident memory (VmRSS, MB) of each serving process: the process itself, or with
        `tree` each uvicorn worker under it."""
        pids = self.pids()
        if self.tree:
            pids = [p for p in pids if b"multiprocessing.spawn" in _cmdline(p)] or pids
        return {pid: rss for pid in pids if not math.isnan(rss := _rss_mb(pid))}

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        below = descendants(self.proc.pid) if self.tree and self.proc.poll() is None else []
        if self.proc.poll() is None:
            self.proc.terminate()  # a uvicorn supervisor stops its workers on SIGTERM
            try:
                self.proc.wait(timeout=10 if self.tree else 5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        for pid in below:  # workers the supervisor did not stop (it was killed): ours, by pid
            if b"multiprocessing" in _cmdline(pid):  # still the worker, not a reused pid
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)


def _stat_fields(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _process_cpu(pid: int) -> float:
    fields = _stat_fields(pid)
    return math.nan if fields is None else (int(fields[11]) + int(fields[12])) / CLK_TCK


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return b""


def _rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024  # kB
    return math.nan


def descendants(root: int) -> list[int]:
    """Live descendants of `root`, from the parent ids in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        kids = children.get(todo.pop(), [])
        out += kids
        todo += kids
    return out


def cores() -> tuple[int | None, int | None]:
    """(core of the gateway and the proxy, core of the sandbox and the load generator)."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        print("warning: fewer than 2 cores available; not pinning", file=sys.stderr)
        return None, None
    return available[0], available[1]


def start_server(
    role: str, workdir: Path, *, cpu: int | None, env: dict[str, str], args: list[str] | None = None
) -> Server:
    """Bind a free loopback port here, then hand the listening socket to `bench.serve ROLE`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, 0))
    sock.listen(2048)
    port = sock.getsockname()[1]
    command = [sys.executable, "-m", "bench.serve", role, "--fd", str(sock.fileno()), "--parent", str(os.getpid())]
    if cpu is not None:
        command += ["--cpu", str(cpu)]
    command += args or []
    child_env = {**os.environ, **env}
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    log = workdir / f"{role}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=REPO, env=child_env, pass_fds=(sock.fileno(),), stdout=out, stderr=subprocess.STDOUT
        )
    sock.close()  # the child holds the listening socket now
    return Server(role, proc, port, log)


async def wait_ready(server: Server, path: str, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
        while True:
            if server.proc.poll() is not None:
                raise SetupError(f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}")
            try:
                async with session.get(server.url + path, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        return
                    raise SetupError(f"{server.name} answered {path} with HTTP {response.status}:\n{server.log_tail()}")
            except (aiohttp.ClientError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise SetupError(f"{server.name} did not start within {START_TIMEOUT:.0f}s:\n{server.log_tail()}")
            STOP.check()
            await asyncio.sleep(0.05)


def gateway_config(
    sandbox: Server, path: Path, nexhealth: Server | None = None, *, redis_url: str | None = None
) -> None:
    """The gateway's TOML: a real (not sandbox) Dental PMS tenant whose vendor is the sandbox, a
    second one (`dentalpms-cached`) in front of the same sandbox with its response cache on, and
    with `nexhealth`, a NexHealth tenant in front of that simulator.

    The tenants' options and credentials are exactly what their vendors' option models accept:
    `org_id` and the `api_token` (Dental PMS); `subdomain`, `location_id`, the rate limits and
    the `api_key` (NexHealth); secrets as environment references. With `redis_url` (the worker
    gateways), the state is shared there, and stored tokens are encrypted with a key from the
    environment, as `serve --workers N` requires.
    """
    dentalpms = f"""vendor = "dentalpms"
sandbox = false
base_url = "{sandbox.url}/api/v1"
timezone = "America/Chicago"
options = {{ org_id = "{ORG_ID}" }}
credentials = {{ api_token = "env:{TOKEN_ENV}" }}
"""
    shared = (
        ""
        if redis_url is None
        else f"""shared_state = "{redis_url}"
shared_state_prefix = "fhir-bench:"
token_store = "{path.parent / "tokens"}"
token_store_keys = ["env:{TOKEN_KEY_ENV}"]
"""
    )
    path.write_text(
        f"""# Generated by bench/run.py: the gateway in front of the sandbox as if it were the vendor.
[server]
host = "{HOST}"
port = 0
paging_secret = "env:{PAGING_ENV}"
log_level = "warning"
{shared}
[paging]
default_count = 20
max_count = 100

[tenants.{TENANT}]
{dentalpms}
[tenants.{CACHED_TENANT}]
{dentalpms}
[tenants.{CACHED_TENANT}.cache]
enabled = true
ttl = {CACHE_TTL}
"""
        + (
            ""
            if nexhealth is None
            else f"""
[tenants.{NEXHEALTH_TENANT}]
vendor = "nexhealth"
sandbox = false
base_url = "{nexhealth.url}"
timezone = "America/Chicago"
options = {{ subdomain = "{NEXHEALTH_SUBDOMAIN}", location_id = {NEXHEALTH_LOCATION}, location_strict = false, \
rate_per_second = {NEXHEALTH_RATE_PER_SECOND}, rate_per_minute = {NEXHEALTH_RATE_PER_MINUTE} }}
credentials = {{ api_key = "env:{NEXHEALTH_KEY_ENV}" }}
"""
        )
    )


def _die_with_us(cpus: set[int] | None) -> Callable[[], None]:
    """preexec_fn of a child that is not Python (redis-server): SIGTERM when this process dies,
    on `cpus` (None: this process's)."""

    def setup() -> None:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if cpus:
            os.sched_setaffinity(0, cpus)

    return setup


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_redis(workdir: Path, cpus: set[int] | None) -> Server:
    """A private redis-server on loopback, no persistence, that dies with this process."""
    port = _free_port()
    data = workdir / "redis"
    data.mkdir(exist_ok=True)
    log = workdir / "redis.log"
    command = [REDIS_BINARY, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
               "--dir", str(data), "--protected-mode", "yes", "--logfile", str(log)]  # fmt: skip
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_die_with_us(cpus)
    )
    return Server("redis", proc, port, log)


async def wait_redis(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if server.proc.poll() is not None:
            raise SetupError(f"redis-server exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            reader, writer = await asyncio.open_connection(HOST, server.port)
            writer.write(b"PING\r\n")
            answer = await reader.read(16)
            writer.close()
            if answer.startswith(b"+PONG"):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SetupError(f"redis-server did not start within {START_TIMEOUT:.0f}s:\n{server.log_tail()}")
        STOP.check()
        await asyncio.sleep(0.05)


def start_cli_gateway(
    name: str, workdir: Path, config: Path, *, workers: int, cpus: set[int] | None, env: dict[str, str]
) -> Server:
    """The gateway as `fhir-gateway serve --config FILE --workers N` runs it (its real command
    line, through `bench.serve cli`, which only adds dying with this process and the cores)."""
    port = _free_port()
    on = ["--cpus", ",".join(map(str, sorted(cpus)))] if cpus else []
    serve = ["serve", "--config", str(config), "--host", HOST, "--port", str(port), "--workers", str(workers)]
    command = [sys.executable, "-m", "bench.serve", "cli", "--parent", str(os.getpid()), *on, "--", *serve]
    child_env = {**os.environ, **env}
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(command, cwd=REPO, env=child_env, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, proc, port, log, tree=True)


async def settled(server: Server, *, quiet: float = 0.05, idle: float = 0.02, at_most: float = 2.0) -> float:
    """Wait until `server` has finished what it was doing: a window of about `quiet` seconds
    in which it used less than `idle` of a core (an idle uvicorn still wakes every 100 ms), or
    `at_most` seconds. After a run: the requests in flight when wrk stopped are then in the
    run's CPU (bench.measure). Returns when it was last seen busy (time.perf_counter)."""
    pids = server.pids()  # one scan of /proc, not one per window
    started = time.perf_counter()
    deadline, busy_at, at = started + at_most, started, started
    before = server.cpu_ns(pids)
    while time.perf_counter() < deadline and server.proc.poll() is None:
        STOP.check()
        await asyncio.sleep(quiet)
        now, then = server.cpu_ns(pids), time.perf_counter()
        # A drop (a process of the tree ended) is no sign of idleness.
        if 0 <= now - before < idle * (then - at) * 1e9:
            break
        before, at, busy_at = now, then, then
    return busy_at


async def wait_settled(server: Server) -> None:
    """Wait until a supervisor's tree stops burning CPU: every worker has imported and started."""
    await settled(server, quiet=0.5, idle=0.1, at_most=20.0)


def start_servers(
    servers: dict[str, Server],
    workdir: Path,
    runner: asyncio.Runner,
    *,
    patient_id: str,
    server_core: int | None,
    driver_core: int | None,
    access_middleware: bool,
    profile_dir: Path | None,
    workers: bool = False,
) -> None:
    """Start the sandbox, then the proxy and the gateway in front of it, and wait until all answer.

    Each server goes into `servers` as soon as its process exists, so that the caller's
    `finally` stops whatever did start, even when a later one fails. `patient_id` is a patient
    the sandbox serves: fetching it shows the sandbox is up. With `profile_dir`, the proxy and
    the gateway are started ready to cProfile themselves (see bench.measure.profile). With
    `workers`, also a redis-server and the gateway through its command line with one worker
    (`gateway_1w`) and with WORKERS (`gateway_2w`), unpinned on both cores (workers_cores()).
    """
    secrets = {TOKEN_ENV: API_TOKEN, ORG_ENV: ORG_ID, NEXHEALTH_KEY_ENV: NEXHEALTH_KEY}
    servers["sandbox"] = start_server("sandbox", workdir, cpu=driver_core, env=secrets)
    servers[NEXHEALTH] = start_server(NEXHEALTH, workdir, cpu=driver_core, env=secrets)
    vendor_auth = {"Authorization": f"Bearer {API_TOKEN}"}
    runner.run(wait_ready(servers["sandbox"], f"/api/v1/{ORG_ID}/patients/{patient_id}", vendor_auth))
    runner.run(wait_ready(servers[NEXHEALTH], COUNTER_PATH))
    config = workdir / "gateway.toml"
    gateway_config(servers["sandbox"], config, servers[NEXHEALTH])
    no_access = [] if access_middleware else ["--no-access-middleware"]
    extra: dict[str, list[str]] = {
        "gateway": ["--config", str(config), *no_access],
        "proxy": ["--vendor-base", f"{servers['sandbox'].url}/api/v1", "--nexhealth-base", servers[NEXHEALTH].url],
    }
    if profile_dir:
        profile_dir.mkdir(parents=True, exist_ok=True)
    for role, env in (("proxy", secrets), ("gateway", {**secrets, PAGING_ENV: PAGING_SECRET})):
        role_args = extra[role]
        if profile_dir:
            role_args = [*role_args, "--profile", str(profile_dir / f"{role}.prof")]
        servers[role] = start_server(role, workdir, cpu=server_core, env=env, args=role_args)
        if profile_dir:
            servers[role].profile_prefix = profile_dir / role
    runner.run(wait_ready(servers["gateway"], "/healthz"))
    runner.run(wait_ready(servers["proxy"], "/healthz"))
    if not workers:
        return
    both = {c for c in (server_core, driver_core) if c is not None} or None
    servers["redis"] = start_redis(workdir, both)
    runner.run(wait_redis(servers["redis"]))
    shared = workdir / "gateway-workers.toml"
    gateway_config(
        servers["sandbox"], shared, servers[NEXHEALTH], redis_url=f"redis://{HOST}:{servers['redis'].port}/0"
    )
    env = {**secrets, PAGING_ENV: PAGING_SECRET, TOKEN_KEY_ENV: TOKEN_STORE_KEY}
    for name, count in (("gateway_1w", 1), ("gateway_2w", WORKERS)):
        servers[name] = start_cli_gateway(name, workdir, shared, workers=count, cpus=both, env=env)
    for name in ("gateway_1w", "gateway_2w"):
        runner.run(wait_ready(servers[name], "/healthz"))
        runner.run(wait_settled(servers[name]))


def workers_cores(server_core: int | None, driver_core: int | None) -> str:
    """How the two-worker kind shares the machine's cores (the report states it)."""
    if server_core is None or driver_core is None:
        return f"nothing pinned ({os.cpu_count()} cores): workers, redis, sandbox and load generator share them all"
    return (
        f"the 1-worker gateway, the {WORKERS} workers and redis unpinned on cores {server_core},{driver_core}; "
        f"sandbox + load generator pinned on core {driver_core}, so the workers get core {server_core} "
        "and what the load side leaves of the other"
    )


async def requests_answered(session: aiohttp.ClientSession, sandbox: Server) -> int:
    """How many requests `sandbox` has answered so far (its vendor calls; bench.serve counts them)."""
    async with session.get(sandbox.url + COUNTER_PATH) as response:
        return int((await response.json())["requests"])
