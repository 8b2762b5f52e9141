"""Bounded memo caches for query results.

The simulators answer list and search requests from in-memory rows and memoise the
results per distinct query (filters, sort, search words), clearing the caches on every
write so a result never outlives the data it came from. The key space is whatever clients
send, so each cache is bounded: an LRU cache of ``QUERY_CACHE_SIZE`` entries. Eviction only
costs a recomputation; answers never depend on what is cached.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, MutableMapping
from typing import TypeVar

from cachetools import LRUCache

__all__ = ["QUERY_CACHE_SIZE", "bounded_cache", "memoized"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Entries per query cache: far more distinct queries than a test or demo session sends.
QUERY_CACHE_SIZE = 512


def bounded_cache(maxsize: int = QUERY_CACHE_SIZE) -> LRUCache[K, V]:
    """An empty LRU cache holding at most `maxsize` entries."""
    return LRUCache(maxsize=maxsize)


def memoized(cache: MutableMapping[K, V], key: K, compute: Callable[[], V]) -> V:
    """``cache[key]``, computing and storing ``compute()`` first when it is missing."""
    try:
        return cache[key]
    except KeyError:
        value = compute()
        cache[key] = value
        return value
