"""A create conditional on a chart number the Dental PMS drops is refused (patient_create.py)."""

from __future__ import annotations

import pytest

from gateway.contract import TenantContext
from gateway.search.model import ParamType, SearchParam, SearchQuery, TokenValue
from mappings.dentalpms.patient_create import _condition_on_chart

CTX = TenantContext(tenant="demo", identifier_system="urn:fhir-gateway:demo", timezone="America/Chicago")
CHART = CTX.system("chart-number")


def _identifier(system: str | None, code: str, modifier: str | None = None) -> SearchQuery:
    value = TokenValue(system, code)
    param = SearchParam("identifier", ParamType.TOKEN, modifier, (value,), f"identifier={system}|{code}")
    return SearchQuery("Patient", (param,))


@pytest.mark.parametrize(
    ("condition", "selects"),
    [
        (_identifier(CHART, "C-1"), True),
        (_identifier(None, "C-1"), True),  # any system: the chart number's too
        (_identifier("urn:other", "C-1"), False),
        (_identifier(CHART, "C-2"), False),
        (_identifier(CHART, "C-1", "not"), False),
        (SearchQuery("Patient", (SearchParam("family", ParamType.STRING, None, ("Lee",), "family=Lee"),)), False),
        (None, False),
    ],
)
def test_a_condition_selects_by_the_chart_number_sent_only_through_its_identifier(
    condition: SearchQuery | None, selects: bool
) -> None:
    assert _condition_on_chart(condition, "C-1", CTX) is selects
    assert _condition_on_chart(condition, None, CTX) is False
