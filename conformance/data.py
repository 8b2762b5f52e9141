"""Where the standards data lives, and cached readers for it.

The data (FHIR R4 JSON schema and definitions, the US Core package) is never copied into
this repo: it is found through ``FHIR_GATEWAY_CONFORMANCE_DATA``, which defaults to
``<repo root>/../shared/conformance-data``; without it the checks skip, and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import tarfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

ENV_VAR = "FHIR_GATEWAY_CONFORMANCE_DATA"
US_CORE_PACKAGE = "us-core/hl7.fhir.us.core-6.1.0.tgz"
US_CORE_BASE = "http://hl7.org/fhir/us/core/StructureDefinition/"

JSON = dict[str, Any]


def conformance_data_dir() -> Path:
    """The standards data directory: ``$FHIR_GATEWAY_CONFORMANCE_DATA`` or ``../shared/...``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured)
    repo_root = Path(__file__).resolve().parent.parent
    return repo_root.parent / "shared" / "conformance-data"


def require_conformance_data() -> Path:
    """For tests: the data directory, or skip (fail under ``CI=true``) when it is missing."""
    data_dir = conformance_data_dir()
    if (data_dir / US_CORE_PACKAGE).is_file() and (data_dir / "fhir-r4").is_dir():
        return data_dir
    import pytest

    reason = f"standards data not found at {data_dir}; set {ENV_VAR}"
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@cache
def fhir_schema() -> JSON:
    """``fhir-r4/fhir.schema.json`` (draft-06)."""
    return _read_json(conformance_data_dir() / "fhir-r4" / "fhir.schema.json")


@cache
def r4_terminology() -> dict[str, JSON]:
    """The R4 ValueSets and CodeSystems of ``fhir-r4/valuesets.json``, by canonical URL."""
    bundle = _read_json(conformance_data_dir() / "fhir-r4" / "valuesets.json")
    return {
        entry["resource"]["url"]: entry["resource"]
        for entry in bundle.get("entry", [])
        if "url" in entry.get("resource", {})
    }


@dataclass(frozen=True)
class Package:
    """The parts of a FHIR IG package (``.tgz``) the checks use."""

    structure_definitions: dict[str, JSON] = field(default_factory=dict)
    terminology: dict[str, JSON] = field(default_factory=dict)
    examples: dict[str, JSON] = field(default_factory=dict)


@cache
def us_core() -> Package:
    """US Core 6.1.0: StructureDefinitions (with snapshots), ValueSets/CodeSystems, examples."""
    package = Package()
    with tarfile.open(conformance_data_dir() / US_CORE_PACKAGE) as tgz:
        for member in tgz:
            if not member.isfile() or not member.name.endswith(".json"):
                continue
            stream = tgz.extractfile(member)
            if stream is None:
                continue
            if member.name.startswith("package/example/"):
                name = member.name.removeprefix("package/example/").removesuffix(".json")
                package.examples[name] = json.load(stream)
            elif member.name.count("/") == 1 and member.name.startswith(
                ("package/StructureDefinition-", "package/ValueSet-", "package/CodeSystem-")
            ):
                resource = json.load(stream)
                if resource.get("resourceType") == "StructureDefinition":
                    package.structure_definitions[resource["url"]] = resource
                else:
                    package.terminology[resource["url"]] = resource
    return package


def us_core_profile(url: str) -> JSON | None:
    """The US Core StructureDefinition with this canonical URL (``|version`` ignored)."""
    return us_core().structure_definitions.get(url.split("|", 1)[0])


def _read_json(path: Path) -> JSON:
    with path.open("rb") as stream:
        data: JSON = json.load(stream)
    return data
