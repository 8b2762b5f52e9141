"""The documented scale-out layout (docs/deploy): two gateway replicas sharing one Redis behind
nginx, with a configuration the gateway accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from cryptography.fernet import Fernet

from gateway.plugins import installed_sandboxes, installed_vendors
from gateway.settings import load_settings
from gateway.tenant_config import check_tenants, shared_state_url

DEPLOY = Path(__file__).parents[2] / "docs" / "deploy"


def test_two_replicas_share_one_redis_behind_the_proxy() -> None:
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    gateways = {name: s for name, s in services.items() if "fhir-gateway" in " ".join(s.get("command", []))}
    assert len(gateways) >= 2
    redis_urls = {s["environment"]["FHIR_GATEWAY_REDIS_URL"] for s in gateways.values()}
    assert len(redis_urls) == 1 and "@redis:6379" in redis_urls.pop()
    assert "redis" in services and "ports" not in services["redis"]  # reached by the gateways only
    upstream = re.search(r"upstream fhir_gateway \{(.*?)\}", (DEPLOY / "nginx.conf").read_text(), re.S)
    assert upstream is not None
    assert {re.sub(r":.*", "", line.split()[1]) for line in upstream.group(1).splitlines() if "server " in line} == set(
        gateways
    )


def test_the_example_configuration_is_one_the_gateway_accepts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token-store-key").write_text(Fernet.generate_key().decode())
    (secrets / "paging-secret").write_text("a-paging-secret-of-at-least-32-characters")
    config = tmp_path / "gateway.toml"
    config.write_text((DEPLOY / "gateway.example.toml").read_text().replace("/run/secrets/fhir-gateway", str(secrets)))
    monkeypatch.setenv("FHIR_GATEWAY_REDIS_URL", "redis://:password@redis:6379/0")
    monkeypatch.setenv("DENTALPMS_API_TOKEN", "token")
    settings = load_settings(config)
    check_tenants(settings, installed_vendors(), installed_sandboxes())
    assert shared_state_url(settings) == "redis://:password@redis:6379/0"
