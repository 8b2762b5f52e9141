"""The benchmark servers: the Dental PMS and NexHealth sandboxes, the gateway and the passthrough proxy.

Each is its own process (`python -m bench.serve ROLE`), started here on a loopback socket this
process binds first, pinned to a core, and watched for CPU time through /proc. The gateway and
the proxy share one core, the sandboxes and the load generator (this process) the other: the two
are measured in turn, so each gets that core to itself, and the load side cannot take time from it.
Each sandbox counts the requests it answers (`GET /_bench/requests`, bench.serve): vendor calls.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.control import STOP, SetupError

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TENANT = "dentalpms"
ORG_ID = "bench-org"
API_TOKEN = "bench-dentalpms-token-2f6c1d0e9a"  # fixed: runs are reproducible
PAGING_SECRET = "bench-paging-secret-7b3e54a1c8"
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

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process (all its threads) so far."""
        try:
            stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        except OSError:
            return float("nan")
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


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


def gateway_config(sandbox: Server, path: Path, nexhealth: Server | None = None) -> None:
    """The gateway's TOML: a real (not sandbox) Dental PMS tenant whose vendor is the sandbox,
    and with `nexhealth`, a NexHealth tenant in front of that simulator.

    The tenants' options and credentials are exactly what their vendors' option models accept:
    `org_id` and the `api_token` (Dental PMS); `subdomain`, `location_id`, the rate limits and
    the `api_key` (NexHealth); secrets as environment references.
    """
    path.write_text(
        f"""# Generated by bench/run.py: the gateway in front of the sandbox as if it were the vendor.
[server]
host = "{HOST}"
port = 0
paging_secret = "env:{PAGING_ENV}"
log_level = "warning"

[paging]
default_count = 20
max_count = 100

[tenants.{TENANT}]
vendor = "dentalpms"
sandbox = false
base_url = "{sandbox.url}/api/v1"
timezone = "America/Chicago"
options = {{ org_id = "{ORG_ID}" }}
credentials = {{ api_token = "env:{TOKEN_ENV}" }}
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
) -> None:
    """Start the sandbox, then the proxy and the gateway in front of it, and wait until all answer.

    Each server goes into `servers` as soon as its process exists, so that the caller's
    `finally` stops whatever did start, even when a later one fails. `patient_id` is a patient
    the sandbox serves: fetching it shows the sandbox is up. With `profile_dir`, the proxy and
    the gateway are started ready to cProfile themselves (see bench.measure.profile).
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


async def requests_answered(session: aiohttp.ClientSession, sandbox: Server) -> int:
    """How many requests `sandbox` has answered so far (its vendor calls; bench.serve counts them)."""
    async with session.get(sandbox.url + COUNTER_PATH) as response:
        return int((await response.json())["requests"])
