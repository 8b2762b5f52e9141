"""The cheap drift check finds exactly the models in which Drift finds unexpected fields."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.contract import VendorModel
from gateway.contract.drift import unexpected_paths
from mappings.drift_scan import unexpected_only


class Inner(VendorModel):
    code: str | None = None


class Outer(VendorModel):
    name: str | None = None
    loose: Any = None  # raw JSON: never holds a model
    one: Inner | None = None
    many: list[Inner] | None = None
    keyed: dict[str, Inner] | None = None


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "a"},
        {"name": "a", "loose": {"deep": [{"x": 1}]}},
        {"one": {"code": "c"}, "many": [{"code": "d"}], "keyed": {"k": {"code": "e"}}},
        {"surprise": 1},
        {"one": {"code": "c", "surprise": 1}},
        {"many": [{"code": "d"}, {"surprise": [1]}]},
        {"keyed": {"k": {"surprise": None}}},
    ],
)
def test_agrees_with_the_paths_drift_finds(raw: dict[str, Any]) -> None:
    model = Outer.model_validate(raw)
    assert bool(unexpected_only(model)) == bool(list(unexpected_paths(model)))


def test_keeps_only_the_models_that_hold_one() -> None:
    plain, odd = Outer.model_validate({"name": "a"}), Outer.model_validate({"odd": 1})
    assert unexpected_only([plain, odd, plain]) == [odd]
