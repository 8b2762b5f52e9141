"""The gateway's settings of Python's garbage collector, for as long as any gateway runs."""

from __future__ import annotations

import gc

from gateway.collector import YOUNG_COLLECTION_AFTER
from tests.support.fake_vendor import FakeBackend, fake_gateway


def test_a_running_gateway_collects_less_often_and_leaves_the_collector_as_it_found_it(backend: FakeBackend) -> None:
    before = gc.get_threshold()
    with fake_gateway(backend) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, *before[1:])
        assert gc.get_freeze_count() > 0  # what start-up built is out of the collector's way
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_gateways_stopping_in_any_order_leave_the_settings_to_the_last() -> None:
    before = gc.get_threshold()
    first, second = fake_gateway(FakeBackend()), fake_gateway(FakeBackend())
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first to start stops first: the second still runs
    assert gc.get_threshold() == (YOUNG_COLLECTION_AFTER, *before[1:]) and gc.get_freeze_count() > 0
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
