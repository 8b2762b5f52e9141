"""Two workers on Redis (`fhir-gateway serve --workers 2`), as an operator runs them, in front of
real simulators: a NexHealth one enforcing its rate limit, and a Nextech one whose refresh
tokens are strictly single-use (a second use revokes the whole grant).

What it shows: the workers together stay under the vendor's rate limit (the vendor never
answers 429), and when both need a new Nextech access token at once exactly one renewal is
made and the grant survives it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.connect import connect
from gateway.sandbox_host import RunningServer, serve_in_thread
from gateway.upstream.oauth import token_client
from gateway.upstream.token_store import TokenStore
from gateway.worker_sockets import reuse_port_supported
from mappings.nextech.client import oauth_app
from sandboxes.clinic import build_clinic
from sandboxes.nexhealth import LOCATION, SUBDOMAIN
from sandboxes.nexhealth.app import create_app as nexhealth_app
from sandboxes.nextech import CLIENT_ID, PRACTICE
from sandboxes.nextech.app import create_app as nextech_app
from tests.support.clinic import live_patients

pytestmark = pytest.mark.slow
CLINIC = build_clinic()
PATIENTS = [p for p in live_patients(CLINIC)][:40]
RATE_PER_SECOND = 40
ACCESS_TTL = 4.0  # seconds: short, so that the test sees the workers renew together


@dataclass
class Counting:
    """An ASGI wrapper counting what the vendor answered, by path and status."""

    app: ASGIApp
    answers: list[tuple[str, str, int]] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def record(message: dict) -> None:  # type: ignore[type-arg]
            if message["type"] == "http.response.start":
                self.answers.append((scope["method"], scope["path"], message["status"]))
            await send(message)

        await self.app(scope, receive, record)

    def count(self, method: str, path_end: str, status: int | None = None) -> int:
        return sum(1 for m, p, s in self.answers if m == method and p.endswith(path_end) and status in (None, s))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    url: str
    nexhealth: Counting
    nextech: Counting
    log: Path  # the gateway's JSON log lines
    pid: int  # the supervisor's

    def workers_that_served(self, tenant: str) -> set[int]:
        lines = [json.loads(line) for line in self.log.read_text().splitlines() if line.startswith("{")]
        return {line["pid"] for line in lines if line.get("tenant") == tenant and line.get("status") == 200}


def _private_key_file(directory: Path) -> Path:
    """A private directory with the token store's key in it, as `--workers 2` requires."""
    os.chmod(directory, 0o700)
    key = directory / "token-key"
    key.write_text(Fernet.generate_key().decode())
    key.chmod(0o600)
    return key


@contextlib.contextmanager
def _serving(config: Path, environment: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`fhir-gateway serve --config FILE` until the block ends: its URL and process."""
    port = tomllib.loads(config.read_text())["server"]["port"]
    log = config.parent / "gateway.log"  # a file, not a pipe nobody reads: a full pipe would block the workers
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "serve", "--config", str(config)],
        env=environment,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="module")
def deployment(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    directory = tmp_path_factory.mktemp("workers")
    key = _private_key_file(directory)
    nexhealth = Counting(
        nexhealth_app(CLINIC, api_key="nexhealth-key", subdomain=SUBDOMAIN, rate_per_second=RATE_PER_SECOND)
    )
    nextech = Counting(
        nextech_app(
            CLINIC,
            client_id=CLIENT_ID,
            client_secret="nextech-secret",
            practice_id=PRACTICE,
            access_ttl=ACCESS_TTL,
            refresh_grace=0.0,
        )
    )
    servers: list[RunningServer] = [
        serve_in_thread(nexhealth, name="nexhealth"),
        serve_in_thread(nextech, name="nextech"),
    ]
    nexhealth_url, nextech_url = (s.url for s in servers)
    tokens = directory / "tokens"
    _connect_nextech(nextech_url, tokens, key.read_text())
    port = _free_port()
    config = directory / "gateway.toml"
    config.write_text(
        f"""
[server]
port = {port}
workers = 2
shared_state = "{redis_url}"
token_store = "{tokens}"
token_store_keys = ["file:{key}"]

[tenants.nexhealth]
vendor = "nexhealth"
base_url = "{nexhealth_url}"
options.subdomain = "{SUBDOMAIN}"
options.location_id = {LOCATION}
options.location_strict = false
options.rate_per_second = {RATE_PER_SECOND}
options.max_queue_seconds = 30
credentials = {{ api_key = "env:TEST_NEXHEALTH_KEY" }}

[tenants.nextech]
vendor = "nextech"
base_url = "{nextech_url}/api"
options = {{ oauth_base_url = "{nextech_url}", client_id = "{CLIENT_ID}", practice_id = "{PRACTICE}" }}
credentials = {{ client_secret = "env:TEST_NEXTECH_SECRET" }}

[audit]
sink = "off"

[observability]
log_format = "json"
"""
    )
    environment = {**os.environ, "TEST_NEXHEALTH_KEY": "nexhealth-key", "TEST_NEXTECH_SECRET": "nextech-secret"}
    try:
        with _serving(config, environment) as (url, process):
            nextech.answers.clear()
            nexhealth.answers.clear()
            yield Deployment(url, nexhealth, nextech, directory / "gateway.log", process.pid)
    finally:
        for server in servers:
            server.stop()


def _connect_nextech(nextech_url: str, tokens: Path, key: str) -> None:
    """The operator's `fhir-gateway connect nextech`, approved by the simulator."""
    import asyncio

    from gateway.contract import AdapterConfig, TenantContext
    from mappings.nextech.options import NextechOptions

    options = NextechOptions(oauth_base_url=nextech_url, client_id=CLIENT_ID, practice_id=PRACTICE)
    app = oauth_app(
        AdapterConfig(
            f"{nextech_url}/api", TenantContext("nextech", "urn:t"), options, {"client_secret": "nextech-secret"}
        )
    )

    async def run() -> None:
        async with httpx.AsyncClient(follow_redirects=True, timeout=10) as browser:

            async def approve(url: str) -> None:
                (await browser.get(url)).raise_for_status()

            http, post = token_client(app)
            try:
                await connect("nextech", app, TokenStore(tokens, (key,)), post, approve)
            finally:
                await http.aclose()

    asyncio.run(run())


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the gateway stopped: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200 and _both_listen(process.pid, url):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("the gateway did not start")


def _both_listen(supervisor: int, url: str) -> bool:
    """Whether both workers listen: one answering is not enough, since each worker listens on a
    socket of its own (gateway.worker_sockets) once it has started, and a loaded machine starts
    the second one seconds later; connections opened before then all go to the first."""
    port = int(url.rsplit(":", 1)[1])
    workers = _workers_of(supervisor)
    return len(workers) == 2 and all(_listens(worker, port) for worker in workers)


def _requests_counted(url: str, tenant: str) -> float:
    metrics = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("fhir_gateway_http_requests_total{") and f'tenant="{tenant}"' in line
    )


def _get_all(urls: list[str], concurrency: int) -> list[int]:
    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(concurrency) as pool:
        return list(pool.map(lambda u: client.get(u).status_code, urls))


def test_two_workers_together_stay_under_the_vendors_rate_limit(deployment: Deployment) -> None:
    base = f"{deployment.url}/fhir/nexhealth"
    urls = [f"{base}/Patient?family={p.last_name}" for p in PATIENTS] * 3  # 120 requests
    started = time.monotonic()
    statuses = _get_all(urls, concurrency=12)
    elapsed = time.monotonic() - started
    vendor_calls = len(deployment.nexhealth.answers)
    vendor_429 = sum(1 for *_, s in deployment.nexhealth.answers if s == 429)
    print(
        f"\n2 workers, vendor limit {RATE_PER_SECOND}/s: {len(urls)} requests in {elapsed:.1f} s, "
        f"{vendor_calls} vendor calls ({vendor_calls / elapsed:.1f}/s), vendor 429s: {vendor_429}, "
        f"client statuses: { {s: statuses.count(s) for s in set(statuses)} }"
    )
    assert vendor_429 == 0
    assert len(deployment.workers_that_served("nexhealth")) == 2  # both took their share
    # A scrape answered by either worker counts both workers' requests
    for _ in range(3):
        assert _requests_counted(deployment.url, "nexhealth") >= len(urls)
    assert statuses.count(200) == len(urls)  # all served, within the queueing allowance
    # Together, not each: the two workers sent no more than the limit allows over the run
    assert vendor_calls <= RATE_PER_SECOND * (elapsed + 1)


def test_both_workers_renewing_at_once_make_one_renewal_and_the_grant_survives(deployment: Deployment) -> None:
    base = f"{deployment.url}/fhir/nextech"
    urls = [f"{base}/Patient?family={p.last_name}" for p in PATIENTS[:30]]
    for round_ in range(3):
        before = deployment.nextech.count("POST", "/oauth2/token")
        statuses = _get_all(urls, concurrency=30)  # spread over both workers, all at once
        renewals = deployment.nextech.count("POST", "/oauth2/token") - before
        print(f"\nround {round_}: {len(urls)} concurrent requests, renewals at the vendor: {renewals}")
        assert statuses == [200] * len(urls)
        assert renewals == 1  # one renewal for both workers, with the single-use refresh token
        time.sleep(ACCESS_TTL)  # the access token expires: both workers need a new one at once
    assert len(deployment.workers_that_served("nextech")) == 2
    refused = deployment.nextech.count("POST", "/oauth2/token", 400)
    assert refused == 0  # no refresh token was ever presented twice (that would revoke the grant)


def _workers_of(supervisor: int) -> list[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return [int(c) for c in children if b"spawn_main" in _cmdline(c)]


def _cmdline(pid: str) -> bytes:
    """A process's command line; empty for one gone meanwhile (a worker just killed and reaped
    between the supervisor's children being listed and this read)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (FileNotFoundError, ProcessLookupError):
        return b""


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds a socket listening on `port` (/proc/net/tcp: state 0A)."""
    return _listening_socket(pid, port) is not None


def _listening_socket(pid: int, port: int) -> str | None:
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            fields = row.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                listening.add(f"socket:[{fields[9]}]")
    held = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            held.add(os.readlink(descriptor))
    found = listening & held
    return min(found) if found else None


@pytest.mark.skipif(not reuse_port_supported(), reason="SO_REUSEPORT spreads connections on Linux only")
def test_connections_opened_together_are_spread_over_both_workers(deployment: Deployment) -> None:
    """A pool that opens its connections at once and keeps them (a load balancer's, a client
    library's): each worker listens on its own socket, so both get a share. On one shared
    socket, the first worker to wake took every waiting connection and the other stayed idle."""
    path = "/fhir/nexhealth/metadata"
    host, port = deployment.url.removeprefix("http://").split(":")
    connections = [http.client.HTTPConnection(host, int(port), timeout=30) for _ in range(32)]
    workers = _workers_of(deployment.pid)
    assert len(workers) == 2
    deadline = time.monotonic() + 30
    while not all(_listens(worker, int(port)) for worker in workers):  # a worker still starting has no share
        assert time.monotonic() < deadline, "the workers did not both listen"
        time.sleep(0.1)
    # The connections arrive while both workers are busy (here: stopped), as under load: they
    # wait for an accept, and each worker then accepts what waits for it.
    for worker in workers:
        os.kill(worker, signal.SIGSTOP)
    try:
        for connection in connections:
            connection.connect()  # the system completes the handshake; the connection waits
    finally:
        for worker in workers:
            os.kill(worker, signal.SIGCONT)
    try:
        for connection in connections:
            for _ in range(3):
                connection.request("GET", path)
                answer = connection.getresponse()
                answer.read()
                assert answer.status == 200
                assert len(answer.headers.get_all("Date") or []) == 1  # the gateway's, not uvicorn's too
                assert answer.headers.get("Server") is None  # the software is not named
    finally:
        for connection in connections:
            connection.close()
    served: dict[int, int] = {}
    deadline = time.monotonic() + 10
    while sum(served.values()) < 96 and time.monotonic() < deadline:  # the workers' lines reach the file
        time.sleep(0.2)
        lines = [json.loads(line) for line in deployment.log.read_text().splitlines() if line.startswith("{")]
        served = {}
        for line in lines:
            if line.get("message", "").startswith(f"GET {path} 200"):
                served[line["pid"]] = served.get(line["pid"], 0) + 1
    print(f"\n32 connections opened together, 3 requests each: requests per worker {sorted(served.values())}")
    assert sum(served.values()) == 96
    # Spread by a hash of the addresses (the kernel's, over source ports handed out in
    # sequence: less even than a fair coin, a 27-5 split met in CI): each worker holds at
    # least 3 of the 32 connections; on one shared socket one worker held them all.
    assert len(served) == 2 and min(served.values()) >= 3 * 3


def _dental_workers(directory: Path, port: int, redis_url: str, prefix: str, server: str = "") -> Path:
    """The config of two workers on Redis serving a Dental PMS sandbox tenant; `server` adds
    lines to its [server] table."""
    key = _private_key_file(directory)
    config = directory / "gateway.toml"
    config.write_text(
        f"""
[server]
port = {port}
workers = 2
{server}
shared_state = "{redis_url}"
shared_state_prefix = "{prefix}"
token_store = "{directory / "tokens"}"
token_store_keys = ["file:{key}"]

[tenants.dental]
vendor = "dentalpms"
sandbox = true

[audit]
sink = "off"
"""
    )
    return config


def test_workers_can_share_one_socket_instead(redis_url: str, tmp_path: Path) -> None:
    """`server.worker_sockets = "shared"`: one listening socket for all workers, whose waiting
    connections outlive a worker's restart (uvicorn's own way)."""
    port = _free_port()
    config = _dental_workers(tmp_path, port, redis_url, "shared-socket-test:", 'worker_sockets = "shared"')
    with _serving(config) as (url, process):
        assert httpx.get(f"{url}/fhir/dental/metadata", timeout=10).status_code == 200
        workers = _workers_of(process.pid)
        assert len(workers) == 2
        assert all(_listens(worker, port) for worker in workers)
        assert len({_listening_socket(worker, port) for worker in workers}) == 1  # the same one


def _live_pids(url: str) -> set[str]:
    """The workers a scrape shows live figures of: each breaker series carries its worker's pid."""
    scrape = httpx.get(f"{url}/metrics", timeout=10)
    assert scrape.status_code == 200, (scrape.status_code, scrape.text[:300])
    metrics = scrape.text
    return {
        line.split('pid="', 1)[1].split('"', 1)[0]
        for line in metrics.splitlines()
        if line.startswith("fhir_gateway_vendor_breaker_state{") and 'pid="' in line
    }


def test_a_worker_that_died_leaves_no_live_figures_behind(redis_url: str, tmp_path: Path) -> None:
    """A worker killed (out of memory, a crash) is restarted by the supervisor; its in-flight
    and breaker gauges must go with it, or every scrape after shows a breaker nobody runs."""
    config = _dental_workers(tmp_path, _free_port(), redis_url, "dead-worker-test:")
    with _serving(config) as (url, process):
        deadline = time.monotonic() + 60  # a loaded machine starts a worker slowly
        while len(workers := _workers_of(process.pid)) < 2 or _live_pids(url) != {str(w) for w in workers}:
            assert time.monotonic() < deadline, (_live_pids(url), workers)  # both have built their figures
            time.sleep(0.2)
        dead, alive = workers
        os.kill(dead, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len(replaced := _workers_of(process.pid)) < 2 or dead in replaced:
            assert time.monotonic() < deadline, "the supervisor did not replace the worker"
            time.sleep(0.2)
        while len(_live_pids(url)) < 2 or not set(map(str, replaced)) <= _live_pids(url):  # the new one is up
            assert time.monotonic() < deadline, (_live_pids(url), replaced)
            time.sleep(0.2)
        assert _live_pids(url) == {str(w) for w in replaced} and str(dead) not in _live_pids(url)
        assert str(alive) in _live_pids(url)
