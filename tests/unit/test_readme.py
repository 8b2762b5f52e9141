"""The README's two commands are the project's contract with a new user and with CI."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_starts_with_the_two_commands() -> None:
    first, second = _commands()[:2]
    assert first.endswith("fhir-gateway serve")
    assert "pytest" in second and "ruff check" in second and "mypy" in second


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    assert _commands()[1] in (ROOT / ".ci" / "run").read_text().splitlines()
