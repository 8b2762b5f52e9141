"""`plain` gives the mappers what `model_dump()` gave them: the same keys and values, in order."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from gateway.contract import VendorModel
from mappings.dentalpms.vendor import VendorAllergy, VendorDisease, VendorMedication, VendorPatient, VendorVitals
from mappings.nexhealth.shapes import VendorAppointment
from mappings.nexhealth.shapes import VendorPatient as NexHealthPatient
from mappings.plain import plain

GOLDEN = Path(__file__).parents[2] / "golden"
MODELS: dict[str, type[BaseModel]] = {
    "dentalpms/patient": VendorPatient,
    "dentalpms/allergy": VendorAllergy,
    "dentalpms/medication": VendorMedication,
    "dentalpms/condition": VendorDisease,
    "dentalpms/vitals": VendorVitals,
    "nexhealth/patient": NexHealthPatient,
    "nexhealth/encounter": VendorAppointment,
}
RECORDS = [
    pytest.param(model, path, id=f"{folder}/{path.name.removesuffix('.input.json')}")
    for folder, model in MODELS.items()
    for path in sorted((GOLDEN / folder).glob("*.input.json"))
]


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (a tuple is not a list, 1 is not True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@pytest.mark.parametrize(("model", "path"), RECORDS)
def test_every_golden_vendor_record_reads_as_model_dump_read_it(model: type[BaseModel], path: Path) -> None:
    raw = json.loads(path.read_text())
    read = model.model_validate(raw.get("record", raw))
    assert _same(plain(read), read.model_dump())


def test_the_golden_records_hold_nested_models_and_undeclared_fields() -> None:
    # What makes the comparison above worth something: NexHealth's patients nest their `bio`.
    nested = [path for _, path in (p.values for p in RECORDS) if "nexhealth/patient" in str(path)]
    assert nested and any("bio" in json.loads(path.read_text())["record"] for path in nested)


class Inner(VendorModel):
    code: str | None = None


class Outer(VendorModel):
    one: Inner | None = None
    several: list[Inner] = Field(default_factory=list)
    pair: tuple[Inner, ...] = ()
    named: dict[str, Inner] = Field(default_factory=dict)
    loose: Any = None


def test_nested_models_alone_in_lists_tuples_and_dicts_and_undeclared_fields_read_as_model_dump() -> None:
    read = Outer.model_validate(
        {
            "one": {"code": "a", "extra_inner": [1]},
            "several": [{"code": "b"}, {}],
            "pair": [{"code": "c"}],
            "named": {"x": {"code": "d"}},
            "loose": {"kept": ["as", {"it": "came"}]},
            "undeclared": {"z": 1},
        }
    )
    assert _same(plain(read), read.model_dump())
