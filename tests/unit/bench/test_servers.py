"""The generated gateway config (real Dental PMS tenants, with exactly the options its model accepts;
the worker gateways' shared state), and the CPU and memory of a process tree."""

from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path
from typing import Any, cast

import pytest

from bench.servers import (
    CACHE_TTL,
    CACHED_TENANT,
    HOST,
    NEXHEALTH_KEY_ENV,
    NEXHEALTH_TENANT,
    ORG_ID,
    PAGING_ENV,
    TENANT,
    TOKEN_ENV,
    TOKEN_KEY_ENV,
    Server,
    descendants,
    gateway_config,
)


def _config(tmp_path: Path) -> dict[str, Any]:
    sandbox = Server("sandbox", cast(Any, None), 4242, tmp_path / "sandbox.log")  # only its URL is used
    nexhealth = Server("nexhealth", cast(Any, None), 4343, tmp_path / "nexhealth.log")
    path = tmp_path / "gateway.toml"
    gateway_config(sandbox, path, nexhealth)
    return tomllib.loads(path.read_text())


def test_the_tenant_is_the_sandbox_as_a_real_vendor(tmp_path: Path) -> None:
    config = _config(tmp_path)
    assert config["server"]["paging_secret"] == f"env:{PAGING_ENV}"
    tenant = config["tenants"][TENANT]
    assert tenant["vendor"] == "dentalpms"
    assert tenant["sandbox"] is False
    assert tenant["base_url"] == f"http://{HOST}:4242/api/v1"


def test_options_and_credentials_are_exactly_what_dental_pms_accepts(tmp_path: Path) -> None:
    from mappings.dentalpms import VENDOR
    from mappings.dentalpms.options import DentalPmsOptions

    tenant = _config(tmp_path)["tenants"][TENANT]
    assert tenant["options"] == {"org_id": ORG_ID}
    DentalPmsOptions.model_validate(tenant["options"])  # extra keys would be rejected
    assert tenant["credentials"] == {"api_token": f"env:{TOKEN_ENV}"}
    assert set(tenant["credentials"]) == set(VENDOR.credentials)


def test_the_nexhealth_tenant_is_what_nexhealth_accepts(tmp_path: Path) -> None:
    from mappings.nexhealth import VENDOR
    from mappings.nexhealth.options import NexHealthOptions

    tenant = _config(tmp_path)["tenants"][NEXHEALTH_TENANT]
    assert (tenant["vendor"], tenant["sandbox"], tenant["base_url"]) == ("nexhealth", False, f"http://{HOST}:4343")
    NexHealthOptions.model_validate(tenant["options"])
    assert tenant["credentials"] == {"api_key": f"env:{NEXHEALTH_KEY_ENV}"}
    assert set(tenant["credentials"]) == set(VENDOR.credentials)


def test_the_cached_tenant_is_dental_pms_with_its_cache_on(tmp_path: Path) -> None:
    from gateway.settings import CacheSettings

    config = _config(tmp_path)
    cached = config["tenants"][CACHED_TENANT]
    assert {k: v for k, v in cached.items() if k != "cache"} == config["tenants"][TENANT]
    cache = CacheSettings.model_validate(cached["cache"])
    assert cache.enabled and cache.ttl == CACHE_TTL >= 3600  # outlasts any run: every read after the first hits


def test_the_worker_config_shares_its_state_on_redis(tmp_path: Path) -> None:
    from gateway.settings import ServerSettings

    sandbox = Server("sandbox", cast(Any, None), 4242, tmp_path / "sandbox.log")
    path = tmp_path / "workers.toml"
    gateway_config(sandbox, path, redis_url="redis://127.0.0.1:6390/0")
    server = tomllib.loads(path.read_text())["server"]
    assert server["shared_state"] == "redis://127.0.0.1:6390/0"
    assert server["token_store_keys"] == [f"env:{TOKEN_KEY_ENV}"]
    settings = ServerSettings.model_validate({**server, "workers": 2})  # accepted for `--workers 2`
    assert settings.workers == 2
    assert "shared_state" not in _config(tmp_path)["server"]


@pytest.mark.slow
def test_a_tree_counts_the_cpu_and_memory_of_its_workers(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = "import multiprocessing.spawn, time; sum(range(3_000_000)); time.sleep(30)"  # a worker's cmdline
    launcher = "import os, subprocess, sys; subprocess.run([sys.executable, '-c', os.environ['WORKER']])"
    parent = subprocess.Popen([sys.executable, "-c", launcher], env={**os.environ, "WORKER": code})
    tree = Server("g", parent, 0, tmp_path / "g.log", tree=True)
    try:
        for _ in range(100):
            if descendants(parent.pid):
                break
            time.sleep(0.05)
        assert len(descendants(parent.pid)) == 1
        time.sleep(0.5)
        alone = Server("g", parent, 0, tmp_path / "g.log")
        assert tree.cpu_seconds() > alone.cpu_seconds()
        # the scheduler's clock (ns) sees the same work as the ticks, to within a tick (10 ms)
        assert tree.cpu_ns() > alone.cpu_ns() > 0
        assert abs(tree.cpu_ns() / 1e9 - tree.cpu_seconds()) < 0.05
        assert list(tree.rss_mb()) == tree.pids()[1:] and list(alone.rss_mb()) == [parent.pid]
    finally:
        tree.stop()
    assert parent.poll() is not None
