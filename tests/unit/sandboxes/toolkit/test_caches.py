"""sandboxes.toolkit.caches: bounded memo caches."""

from __future__ import annotations

from cachetools import LRUCache

from sandboxes.toolkit.caches import QUERY_CACHE_SIZE, bounded_cache, memoized


def test_bounded_cache_is_an_empty_lru_of_the_query_size() -> None:
    cache: LRUCache[str, int] = bounded_cache()
    assert isinstance(cache, LRUCache)
    assert (len(cache), cache.maxsize) == (0, QUERY_CACHE_SIZE)


def test_bounded_cache_evicts_the_least_recently_used() -> None:
    cache: LRUCache[str, int] = bounded_cache(2)
    cache["a"], cache["b"] = 1, 2
    assert cache["a"] == 1
    cache["c"] = 3
    assert set(cache) == {"a", "c"}


def test_memoized_computes_once() -> None:
    cache: LRUCache[str, list[int]] = bounded_cache()
    calls: list[str] = []

    def compute() -> list[int]:
        calls.append("x")
        return [1, 2]

    first = memoized(cache, "x", compute)
    second = memoized(cache, "x", compute)
    assert first is second
    assert calls == ["x"]


def test_memoized_recomputes_after_clear() -> None:
    cache: LRUCache[str, int] = bounded_cache()
    counter = iter(range(10))
    assert memoized(cache, "k", lambda: next(counter)) == 0
    cache.clear()
    assert memoized(cache, "k", lambda: next(counter)) == 1


def test_memoized_works_on_a_plain_dict() -> None:
    cache: dict[str, int] = {}
    assert memoized(cache, "k", lambda: 5) == 5
    assert cache == {"k": 5}
