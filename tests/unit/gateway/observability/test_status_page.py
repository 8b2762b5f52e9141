"""The status page's HTML: every value escaped, whatever it holds."""

from __future__ import annotations

import pytest

from gateway.observability.health import Report, TenantReadiness
from gateway.observability.status_page import TenantStatus, render

EVIL = '"><script>alert(1)</script><a href="javascript:x">'


def test_every_value_is_escaped() -> None:
    readiness = TenantReadiness(EVIL, False, True, EVIL, EVIL, EVIL, None)
    figures = {
        "requests": 0,
        "error_rate": None,
        "p95_seconds": None,
        "vendor_calls": 0,
        "vendor_error_rate": None,
        "vendor_p95_seconds": None,
        "rate_limit_waits": 0,
        "rate_limit_refusals": 0,
        "vendor_throttled": 0,
        "last_token_renewal": EVIL,
    }
    status = TenantStatus(EVIL, EVIL, f"http://x/fhir/{EVIL}", True, readiness, figures)
    page = render([status], Report(False, {EVIL: readiness}, {"kind": EVIL}))
    assert "<script" not in page and 'href="javascript' not in page
    assert "&lt;script&gt;" in page


@pytest.mark.slow
def test_sandbox_tenants_get_examples_to_click() -> None:
    status = TenantStatus("dentalpms", "dentalpms", "http://x/fhir/dentalpms", True, None, None)
    page = render([status], Report(True, {}, {"kind": "in-process"}))
    assert 'href="http://x/fhir/dentalpms/Patient?family=smith&amp;_count=5"' in page
    real = TenantStatus("clinic", "dentalpms", "http://x/fhir/clinic", False, None, None)
    assert "Patient?family=smith" not in render([real], Report(True, {}, {"kind": "in-process"}))
