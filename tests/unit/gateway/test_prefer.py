"""The Prefer header as RFC 7240 and FHIR read it."""

from __future__ import annotations

import pytest

from gateway.rest.prefer import Prefer, parse_prefer


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], Prefer("lenient", "representation")),
        (["handling=strict"], Prefer("strict", "representation")),
        (["return=minimal; handling=strict"], Prefer("strict", "minimal")),
        (['return="OperationOutcome"'], Prefer("lenient", "OperationOutcome")),
        (["HANDLING=strict"], Prefer("strict", "representation")),
        (["handling=strict, handling=lenient"], Prefer("strict", "representation")),  # the first wins
        (["return=minimal, return=OperationOutcome"], Prefer("lenient", "minimal")),
        (["return=minimal", "handling=strict"], Prefer("strict", "minimal")),  # several header lines
        (["handling=sloppy, handling=strict"], Prefer("strict", "representation")),  # unknown values skipped
        (["respond-async, wait=10"], Prefer("lenient", "representation")),
    ],
)
def test_preferences(headers: list[str], expected: Prefer) -> None:
    assert parse_prefer(headers) == expected
