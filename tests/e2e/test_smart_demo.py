"""`fhir-gateway serve --smart-demo` and `fhir-gateway token`: the README's three commands."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway import cli
from gateway.app import create_app
from gateway.sandbox_host import serve_in_thread
from gateway.settings import DEMO_CONFIG, AuditSettings, load_settings
from gateway.smart_demo import DEMO_CLIENT, SmartDemo, smart_demo
from mappings.registry import VENDORS
from sandboxes.registry import SANDBOXES


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmartDemo]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The trail in a file: on stdout (the demo's sink) the in-thread server's lines, the token
    # request's login among them, would mix with what `fhir-gateway token` prints.
    trail = AuditSettings(sink="file", path=str(tmp_path_factory.mktemp("audit") / "audit.jsonl"))
    settings = load_settings(DEMO_CONFIG).model_copy(update={"audit": trail})
    with smart_demo(settings, "127.0.0.1", port) as made:
        running = serve_in_thread(
            create_app(made.settings, VENDORS, SANDBOXES, access_logging=False), port=port, date_header=False
        )
        yield made
        running.stop()


def test_the_demo_client_gets_a_token_and_reads_with_it(demo: SmartDemo, capsys: pytest.CaptureFixture[str]) -> None:
    assert (demo.client_key.stat().st_mode & 0o777) == 0o600
    code = cli.main(
        ["token", "--url", demo.root, "--client", DEMO_CLIENT, "--key", str(demo.client_key), "--scope", "system/*.rs"]
    )
    token = capsys.readouterr().out.strip()
    assert code == 0 and token.count(".") == 2
    url = f"{demo.root}/fhir/dentalpms/Patient?_count=2"
    assert httpx.get(url, timeout=30).status_code == 401
    answer = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["resourceType"] == "Bundle"


def test_a_client_without_the_key_gets_no_token(demo: SmartDemo, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["token", "--url", demo.root, "--client", "someone-else", "--key", str(demo.client_key)])
    assert code == 1 and "invalid_client" in capsys.readouterr().err


def test_the_demo_keys_go_when_the_demo_stops() -> None:
    with smart_demo(load_settings(DEMO_CONFIG), "127.0.0.1", 8080) as made:
        keys = made.client_key.parent
        assert made.client_key.is_file() and (keys.stat().st_mode & 0o777) == 0o700
    assert not keys.exists()  # no private key left behind in the temporary directory


def test_a_smart_demo_stopped_by_sigterm_leaves_no_key_behind() -> None:
    # As a service manager stops it: uvicorn ends a SIGTERM'd serve by raising the signal again.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = f"from gateway.cli import main; raise SystemExit(main(['serve', '--smart-demo', '--port', '{port}']))"
    process = subprocess.Popen(
        [sys.executable, "-c", command], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert process.stdout is not None
        keys = Path(next(line for line in process.stdout if line.strip().endswith(".pem")).strip()).parent
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert keys.is_dir()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
        assert not keys.exists()
    finally:
        process.kill()
        process.wait()
