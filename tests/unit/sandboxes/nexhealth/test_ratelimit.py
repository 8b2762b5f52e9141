"""Per-second and per-minute rate limits (``sandboxes.nexhealth.ratelimit``)."""

from __future__ import annotations

from tests.unit.sandboxes.nexhealth.harness import SCOPE, T0, Clock, assert_error, make_api


def test_per_second_limit_429_without_retry_after() -> None:
    clock = Clock()
    api = make_api(clock, rate_per_second=3, rate_per_minute=100)
    api.headers(True, {})  # /authenticates counts: 1
    assert [r.status_code for r in api.burst(4)] == [200, 200, 429, 429]
    r = api.get("/providers")
    assert_error(r, 429, ["Rate limit exceeded: 3 requests per second"])
    assert "retry-after" not in {k.lower() for k in r.headers}
    assert_error(api.authenticate(), 429, ["Rate limit exceeded: 3 requests per second"])
    clock.now = T0 + 1  # the next second: a fresh window
    assert [r.status_code for r in api.burst(4)] == [200, 200, 200, 429]


def test_per_minute_limit_and_refused_requests_do_not_count() -> None:
    clock = Clock()
    api = make_api(clock, rate_per_second=2, rate_per_minute=5)
    api.headers(True, {})  # 1 (second 0)
    assert [r.status_code for r in api.burst(3)] == [200, 429, 429]  # 2
    clock.now += 1
    assert [r.status_code for r in api.burst(2)] == [200, 200]  # 4
    clock.now += 1
    statuses = [r.status_code for r in api.burst(2)]
    assert statuses == [200, 429]  # 5 admitted: the minute is full
    r = api.get("/providers")
    assert_error(r, 429, ["Rate limit exceeded: 5 requests per minute"])
    assert "retry-after" not in {k.lower() for k in r.headers}
    clock.now = T0 + 59.9
    assert api.get("/providers").status_code == 429
    clock.now = T0 + 60  # the next minute
    assert api.get("/providers").status_code == 200


def test_default_limit_is_100_per_second() -> None:
    api = make_api()  # clock stands still: every request is in the same second
    responses = api.burst(101)
    assert [r.status_code for r in responses].count(200) == 99  # + the authentication = 100
    assert responses[-1].status_code == 429 and responses[-2].status_code == 429


def test_unauthenticated_requests_are_not_rate_limited() -> None:
    api = make_api(rate_per_second=1, rate_per_minute=1)
    for _ in range(3):
        assert_error(api.call("GET", "/providers", params=SCOPE, auth=False), 401, ["Unauthorized"])
    assert api.authenticate().status_code == 201


def test_request_counter_counts_everything() -> None:
    api = make_api()
    api.authenticate()
    api.authenticate("nope")
    api.get("/providers")
    api.call("GET", "/nowhere")
    assert api.app.state.requests == 5  # two authentications, a bad key, providers, the 404
    assert api.app.state.authentications == 2


def test_a_retry_after_reading_says_when_the_refusing_window_ends() -> None:
    clock = Clock()
    api = make_api(clock, rate_per_second=2, rate_per_minute=3, retry_after="seconds")
    api.headers(True, {})  # 1
    clock.now = T0 + 0.25
    assert [r.status_code for r in api.burst(2)] == [200, 429]  # the second is full
    assert api.get("/providers").headers["Retry-After"] == "1"
    clock.now = T0 + 10.5
    assert api.get("/providers").status_code == 200  # 3: the minute is full
    r = api.get("/providers")
    assert (r.status_code, r.headers["Retry-After"]) == (429, "50")
