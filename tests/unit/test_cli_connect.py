"""`fhir-gateway connect <tenant>` against a Nextech sandbox over HTTP: the operator's flow."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from gateway import cli
from gateway.sandbox_host import serve_in_thread
from sandboxes.clinic import build_clinic
from sandboxes.nextech.app import create_app


def test_connect_stores_the_refresh_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    running = serve_in_thread(create_app(build_clinic(), client_id="cli", client_secret="s3cret", practice_id="p"))
    config = _nextech_tenant(tmp_path, monkeypatch, running.url)

    def operator_approves(url: str) -> bool:  # what a person does in the browser, here over HTTP
        threading.Thread(target=lambda: httpx.get(url, follow_redirects=True, timeout=10)).start()
        return True

    monkeypatch.setattr("webbrowser.open", operator_approves)
    try:
        code = cli.main(["--config", str(config), "connect", "clinic-a", "--browser", "--timeout", "20"])
    finally:
        running.stop()
    out = capsys.readouterr().out
    assert code == 0
    assert "/oauth2/authorize?" in out and "clinic-a connected" in out
    stored = tmp_path / "tokens" / "clinic-a.json"
    assert stored.exists() and (stored.stat().st_mode & 0o777) == 0o600
    assert "ciphertext" in stored.read_text() and "refresh_token" not in stored.read_text()  # encrypted at rest
    assert "s3cret" not in out


def test_connect_refuses_tenants_without_oauth(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "gateway.toml"
    config.write_text('[tenants.dental]\nvendor = "dentalpms"\nsandbox = true\n')
    assert cli.main(["--config", str(config), "connect", "dental"]) == 2
    assert "does not use OAuth" in capsys.readouterr().err


def test_pasted_redirects_are_read_safely() -> None:
    from gateway.connect import ConnectError, code_from

    assert code_from("http://127.0.0.1:5/callback?code=abc&state=s1", "s1") == "abc"
    assert code_from("  abc  ", "s1") == "abc"
    with pytest.raises(ConnectError):
        code_from("http://127.0.0.1:5/callback?code=abc&state=other", "s1")
    # Pasted without state (a vendor that does not echo it): the operator's own act, as a bare code is.
    assert code_from("http://127.0.0.1:5/callback?code=abc", "s1") == "abc"
    assert code_from("abc=def", "s1") == "abc=def"  # bare codes may contain '='

    with pytest.raises(ConnectError):
        code_from("http://127.0.0.1:5/callback?error=access_denied&state=s1", "s1")


def test_a_pasted_code_the_token_endpoint_cannot_take_is_a_clear_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The operator presses Enter alone first (asked again: the redirect may still arrive), then
    # pastes a code; the token endpoint cannot be reached. That was a raw traceback.
    config = _nextech_tenant(tmp_path, monkeypatch, "http://127.0.0.1:9")  # nothing listens there
    lines = iter(["", "a-code-from-the-browser"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(lines))
    code = cli.main(["--config", str(config), "connect", "clinic-a", "--paste", "--timeout", "20"])
    err = capsys.readouterr().err
    assert code != 0
    assert "connection failed: the code could not be exchanged" in err and "Traceback" not in err
    assert next(lines, None) is None  # the empty line was asked again, not sent as a code


def _nextech_tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor_url: str) -> Path:
    """A config of one Nextech tenant, `clinic-a`, whose API and OAuth server are at `vendor_url`."""
    config = tmp_path / "gateway.toml"
    config.write_text(
        f"""
[server]
token_store = "{tmp_path / "tokens"}"
token_store_keys = ["env:TEST_TOKEN_KEY"]
[tenants.clinic-a]
vendor = "nextech"
base_url = "{vendor_url}/api"
options = {{ oauth_base_url = "{vendor_url}", client_id = "cli", practice_id = "p" }}
credentials = {{ client_secret = "env:TEST_NEXTECH_SECRET" }}
"""
    )
    monkeypatch.setenv("TEST_NEXTECH_SECRET", "s3cret")
    monkeypatch.setenv("TEST_TOKEN_KEY", Fernet.generate_key().decode())
    return config
