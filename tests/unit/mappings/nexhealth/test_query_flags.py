"""NexHealth's boolean query parameters are sent `true` or left out, never `false`."""

from __future__ import annotations

from mappings.nexhealth.query_flags import flag, strictness


def test_true_is_sent_and_false_left_out() -> None:
    # Express's `if (req.query.cancelled)` reads the text "false" as true.
    assert flag("cancelled", True) == {"cancelled": "true"}
    assert flag("cancelled", False) == {}


def test_a_tenant_not_location_strict_sends_no_location_strict() -> None:
    assert strictness(True) == {"location_strict": "true"}
    assert strictness(False) == {}
