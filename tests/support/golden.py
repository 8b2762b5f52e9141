"""Golden files for a vendor's mappers: `tests/golden/<vendor>/<kind>/<case>.input.json` beside
`<case>.expected.json`. UPDATE_GOLDEN=1 rewrites the expectations (then review the diff).

An input file is a vendor's answer: it is parsed as the gateway parses vendor answers
(`vendor_json`), text put in NFC as it enters, before the mapper sees it."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from conformance import assert_conformant, require_conformance_data
from gateway.upstream.http import UpstreamResponse

GOLDEN = Path(__file__).parents[1] / "golden"
Mapper = Callable[[dict[str, Any]], Any]


def vendor_json(path: Path) -> Any:
    """A golden input, parsed as a vendor answer with these bytes would be."""
    return UpstreamResponse(200, {}, path.read_bytes()).json()


def case_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name.removesuffix('.input.json')}"


class GoldenSuite:
    def __init__(self, vendor: str, mappers: dict[str, Mapper], fhir_kinds: Iterable[str]) -> None:
        self.root = GOLDEN / vendor
        self.mappers = mappers
        self.cases = sorted(self.root.glob("*/*.input.json"))
        self.fhir_cases = [c for c in self.cases if c.parent.name in set(fhir_kinds)]

    def produce(self, source: Path) -> Any:
        return self.mappers[source.parent.name](vendor_json(source))

    def assert_complete(self) -> None:
        assert {p.parent.name for p in self.cases} == set(self.mappers), "every mapper needs golden cases"

    def check(self, source: Path) -> None:
        produced = self.produce(source)
        expected_file = source.with_name(source.name.replace(".input.json", ".expected.json"))
        if os.environ.get("UPDATE_GOLDEN") == "1":
            expected_file.write_text(json.dumps(produced, indent=2, ensure_ascii=False) + "\n")
        assert produced == json.loads(expected_file.read_text())

    def check_conforms(self, source: Path) -> None:
        require_conformance_data()
        produced = self.produce(source)
        for resource in produced if isinstance(produced, list) else [produced]:
            assert_conformant(resource)
