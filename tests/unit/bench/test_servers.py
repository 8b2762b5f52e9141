"""The generated gateway config: one real Dental PMS tenant, with exactly the options its model accepts."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, cast

from bench.servers import (
    HOST,
    NEXHEALTH_KEY_ENV,
    NEXHEALTH_TENANT,
    ORG_ID,
    PAGING_ENV,
    TENANT,
    TOKEN_ENV,
    Server,
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
