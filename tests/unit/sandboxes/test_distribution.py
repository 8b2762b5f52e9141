"""The simulators' distribution lists every package of sandboxes/ (a non-editable install would
otherwise miss one), and the gateway's own distribution contains none of them."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[3]


def test_every_simulator_package_is_listed() -> None:
    listed = set(tomllib.loads((ROOT / "sandboxes" / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "sandboxes").rglob("__init__.py")}
    assert listed == found


def test_the_gateway_distribution_leaves_the_simulators_out() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [pattern for pattern in included if pattern.startswith("sandboxes")]
    assert "sandboxes/" in (ROOT / ".dockerignore").read_text().split()  # nor does the image
