"""No PHI and no token in any log or audit line, whatever an end-to-end test makes the gateway do.

Every test here runs with a handler on the root logger at the levels the gateway runs at; after
it, every new log record and every new line of the demo gateway's audit trail is searched for
the synthetic clinic's names, birth dates, phone numbers, emails, chart numbers and street
addresses, and for bearer or refresh tokens (JWTs). Audit lines may carry resource ids, never
these.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandboxes.clinic import build_clinic
from tests.conftest import RunningGateway
from tests.support.phi import JWT, found, phi_terms


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("sandboxes"):
            return  # the simulated vendors' own logs, not the gateway's
        self.lines.append(f"{record.name}: {self.format(record)}")


@pytest.fixture(scope="session")
def _phi() -> dict[str, str]:
    terms = phi_terms(build_clinic())
    # Words the gateway's own messages use that a synthetic name may share are not PHI there.
    for word in ("Patient", "Encounter", "Binary", "Document", "Health", "Dental", "Demo", "Group"):
        terms.pop(word, None)
    return terms


@pytest.fixture(autouse=True)
def no_phi_in_logs(request: pytest.FixtureRequest, _phi: dict[str, str]) -> Iterator[None]:
    handler = _Collect()
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(min(previous_level or logging.INFO, logging.INFO))
    audit, start = _audit_position(request)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
    lines = handler.lines + _audit_lines(audit, start)
    leaks = [(kind, term, line) for line in lines for term, kind in found(line, _phi)]
    leaks += [("a JWT (bearer or refresh token)", "eyJ…", line) for line in lines if JWT.search(line)]
    assert not leaks, "PHI or a token in the logs: " + "; ".join(f"{k} in {line[:200]!r}" for k, _, line in leaks[:5])


def _audit_position(request: pytest.FixtureRequest) -> tuple[Path | None, int]:
    if "gateway" not in request.fixturenames:
        return None, 0
    running: RunningGateway = request.getfixturevalue("gateway")
    return running.audit, running.audit.stat().st_size if running.audit.exists() else 0


def _audit_lines(audit: Path | None, start: int) -> list[str]:
    """The new audit lines, their resource references left out: audit lines may name resource
    ids (a Nextech id carries its chart number, the only key Nextech can find a patient by)."""
    if audit is None or not audit.exists():
        return []
    with audit.open("rb") as handle:
        handle.seek(start)
        text = handle.read().decode("utf-8", "replace")
    lines = []
    for line in text.splitlines():
        event = json.loads(line)
        for entity in event.get("entity", []):
            entity.get("what", {}).pop("reference", None)
        lines.append(json.dumps(event))
    return lines
