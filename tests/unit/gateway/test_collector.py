"""The gateway's settings of Python's garbage collector, for as long as any gateway runs.

Another gateway of this process may be running already (a session's fixture): the settings
are then in force before the test, and stay after it."""

from __future__ import annotations

import gc

import pytest

from gateway.collector import YOUNG_COLLECTION_AFTER
from tests.support.fake_vendor import FakeBackend, fake_gateway


def _others_run() -> bool:
    return gc.get_freeze_count() > 0  # only a running gateway freezes


@pytest.mark.slow
def test_a_running_gateway_collects_less_often_and_leaves_the_collector_as_it_found_it(backend: FakeBackend) -> None:
    before, others = gc.get_threshold(), _others_run()
    with fake_gateway(backend) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, *before[1:])
        assert gc.get_freeze_count() > 0  # what start-up built is out of the collector's way
    assert gc.get_threshold() == before
    assert _others_run() == others


@pytest.mark.slow
def test_gateways_stopping_in_any_order_leave_the_settings_to_the_last() -> None:
    before, others = gc.get_threshold(), _others_run()
    first, second = fake_gateway(FakeBackend()), fake_gateway(FakeBackend())
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start stops first: the second still runs
    assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, *before[1:]) and gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert _others_run() == others
